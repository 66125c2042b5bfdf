"""The ``jobman`` command line: thin commands over the library.

Errors from the library are turned into one ``Error: ...`` line and an exit code here,
and only here.
"""

from __future__ import annotations

import sys

from jobman.cli.app import app, terminal

# Importing the command modules registers them on ``app``.
from jobman.cli import run as _run  # noqa: F401,E402
from jobman.cli import status as _status  # noqa: F401,E402
from jobman.cli import result as _result  # noqa: F401,E402
from jobman.cli import listing as _listing  # noqa: F401,E402
from jobman.cli import resume as _resume  # noqa: F401,E402
from jobman.cli import cancel as _cancel  # noqa: F401,E402

EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``jobman`` console script; exits with jobman's exit codes."""
    sys.exit(run_cli(argv))


def run_cli(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting."""
    import click

    from jobman.exceptions import JobmanError

    try:
        result = app(args=argv, prog_name="jobman", standalone_mode=False)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as error:
        message = error.format_message()
        terminal.error(message)
        context = getattr(error, "ctx", None)
        if context is not None:
            terminal.info(f"Try '{context.command_path} --help' for help.")
        return error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        terminal.error("interrupted")
        return EXIT_INTERRUPTED
    except JobmanError as error:
        terminal.error(str(error))
        return error.exit_code
    except BrokenPipeError:
        return 1
    return result if isinstance(result, int) else 0
