"""The ``jobman`` command line: thin commands over the library.

Errors from the library become one ``Error: ...`` line and an exit code in
:mod:`jobman.cli.errors`, and only there.
"""

from __future__ import annotations

from jobman.cli.app import app

# Importing the command modules registers them on ``app``, in the order --help lists them.
from jobman.cli import run as _run  # noqa: F401,E402
from jobman.cli import status as _status  # noqa: F401,E402
from jobman.cli import wait as _wait  # noqa: F401,E402
from jobman.cli import logs as _logs  # noqa: F401,E402
from jobman.cli import result as _result  # noqa: F401,E402
from jobman.cli import plot as _plot  # noqa: F401,E402
from jobman.cli import export as _export  # noqa: F401,E402
from jobman.cli import listing as _listing  # noqa: F401,E402
from jobman.cli import show as _show  # noqa: F401,E402
from jobman.cli import jobs as _jobs  # noqa: F401,E402
from jobman.cli import backends as _backends  # noqa: F401,E402
from jobman.cli import resume as _resume  # noqa: F401,E402
from jobman.cli import adopt as _adopt  # noqa: F401,E402
from jobman.cli import cancel as _cancel  # noqa: F401,E402
from jobman.cli import delete as _delete  # noqa: F401,E402
from jobman.cli import check as _check  # noqa: F401,E402
from jobman.cli import completions as _completions  # noqa: F401,E402


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``jobman`` console script; exits with jobman's exit codes."""
    app(args=argv, prog_name="jobman")


def run_cli(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting."""
    return app(args=argv, prog_name="jobman", standalone_mode=False)
