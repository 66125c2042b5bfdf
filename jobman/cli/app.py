"""The typer application, its shared options, and the one way out with an error."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from jobman.cli.errors import JobmanGroup
from jobman.cli.output import Terminal

EXIT_CODES = """\
Exit codes: 0 success; 1 error; 2 usage error (bad option or argument); 3 finished but some
circuits failed or were cancelled; 130 interrupted (resume with `jobman resume`)."""

app = typer.Typer(
    name="jobman",
    cls=JobmanGroup,
    help="Run huge lists of quantum circuits as managed, persisted, resumable job sets.\n\n"
         "Example: jobman run circuits.qpy --shots 1000 && jobman result --circuit 42",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Set by the app callback; every command writes through it.
terminal = Terminal()

StoreOption = Annotated[
    Optional[Path],
    typer.Option("--store", envvar="JOBMAN_HOME", show_envvar=True, metavar="DIR",
                 help="Store directory (default: the platform's user data directory).",
                 rich_help_panel="Store"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (JSON Lines for lists) on stdout.",
                                          rich_help_panel="Output")]
SetArgument = Annotated[
    Optional[str],
    typer.Argument(metavar="[SET]", help="Job set id, unique id prefix or name (default: the newest).",
                   show_default=False),
]


def open_store(store: Optional[Path]):  # -> jobman.store.Store
    """The store chosen by --store / $JOBMAN_HOME / the platform default."""
    from jobman.store import Store

    return Store(store)


@app.callback()
def _main(
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print only data and errors.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Print more detail on stderr.")] = False,
) -> None:
    """Run huge lists of quantum circuits as managed, persisted, resumable job sets."""
    terminal.quiet = quiet
    terminal.verbose = verbose
