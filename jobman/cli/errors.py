"""The one place where errors become an ``Error: ...`` line and an exit code."""

from __future__ import annotations

import sys
from typing import Any, Callable

from typer.core import TyperGroup

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FAILED_CIRCUITS = 3
EXIT_INTERRUPTED = 130


def _click_exceptions() -> Any:
    """Click's exception classes as typer uses them (newer typer vendors click)."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - typer before it vendored click
        from click import exceptions
    return exceptions


def run_guarded(call: Callable[[], Any]) -> int:
    """Run a click/typer invocation and turn every outcome into an exit code."""
    import typer

    from jobman.cli.app import terminal
    from jobman.exceptions import JobmanError

    click = _click_exceptions()
    try:
        result = call()
    except (typer.Exit, getattr(click, "Exit", typer.Exit)) as stop:
        return stop.exit_code
    except click.NoArgsIsHelpError as error:
        terminal.err.write(error.ctx.get_help() + "\n")
        return EXIT_USAGE
    except click.ClickException as error:
        terminal.error(error.format_message())
        context = getattr(error, "ctx", None)
        if context is not None:
            terminal.info(f"Try '{context.command_path} --help' for help.")
        return error.exit_code
    except (typer.Abort, getattr(click, "Abort", typer.Abort), KeyboardInterrupt):
        terminal.error("interrupted")
        return EXIT_INTERRUPTED
    except JobmanError as error:
        terminal.error(str(error))
        return error.exit_code
    except BrokenPipeError:
        return EXIT_ERROR
    except MemoryError:
        terminal.error("out of memory; try a smaller --chunk-size")
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK


class JobmanGroup(TyperGroup):
    """The top-level command group: every invocation ends through :func:`run_guarded`."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        code = run_guarded(lambda: super(JobmanGroup, self).main(
            args, prog_name, complete_var, standalone_mode=False, **extra))
        if standalone_mode:
            sys.stdout.flush()
            sys.exit(code)
        return code
