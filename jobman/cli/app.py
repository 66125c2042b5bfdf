"""The typer application, its shared options, and the store every command opens."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, List, Optional

import typer
from typing_extensions import Annotated

from jobman.cli import lean_params
from jobman.cli.errors import HELP_OPTION_NAMES, JobmanGroup
from jobman.cli.output import Terminal

lean_params.install()

EXIT_CODES = (
    "Exit codes: 0 success; 1 error; 2 usage error (bad option or argument); 3 finished but some "
    "circuits failed or were cancelled; 4 stopped at the --max-usage budget; 5 `jobman check` found "
    "damage; 124 `jobman wait --timeout` ran out; 130 interrupted (Ctrl-C), 143 SIGTERM, 129 SIGHUP "
    "(resume with `jobman resume`); 141 stdout closed by its reader."
)

app = typer.Typer(
    name="jobman",
    cls=JobmanGroup,
    help="Run huge lists of quantum circuits as managed, persisted, resumable job sets.\n\n"
         "Example: SET=$(jobman run circuits.qpy --shots 1000) && jobman result $SET --circuit 42",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)

#: Set by the app callback; every command writes through it.
terminal = Terminal()
#: The library's warnings (e.g. a job whose status cannot be read for now) reach the user.
logging.getLogger("jobman").addHandler(terminal.warnings_handler())

#: Help panels, so every command's options are grouped the same way.
OUTPUT_PANEL = "Output"
STORE_PANEL = "Store"
FILTER_PANEL = "Filters"
WAIT_PANEL = "Waiting"
CIRCUITS_PANEL = "Circuits"


def complete_set_ids(incomplete: str) -> List[str]:
    """Set ids in the store starting with ``incomplete`` (for shell completion; no qiskit)."""
    from jobman.store import Store

    try:
        return [i for i in Store().set_ids() if i.startswith(incomplete)]
    except Exception:  # completion must never fail loudly
        return []


def flag(*names: str, help: str, panel: str = OUTPUT_PANEL) -> Any:
    """A boolean option shown without a type (``--json``, not ``--json <bool>``)."""
    return typer.Option(*names, help=help, metavar="", rich_help_panel=panel)


StoreOption = Annotated[
    Optional[Path],
    typer.Option("--store", envvar="JOBMAN_HOME", show_envvar=True, metavar="DIR",
                 help="Store directory (default: the platform's user data directory).",
                 rich_help_panel=STORE_PANEL),
]
JsonOption = Annotated[bool, flag("--json", help="Print JSON (JSON Lines for lists) on stdout.")]
SetArgument = Annotated[
    Optional[str],
    typer.Argument(metavar="SET", help="Job set id, unique id prefix or name (default: the newest).",
                   show_default=False, autocompletion=complete_set_ids),
]
RequiredSetsArgument = Annotated[
    List[str],
    typer.Argument(metavar="SET...", help="Job set ids, unique id prefixes or names.",
                   show_default=False, autocompletion=complete_set_ids),
]


def open_store(store: Optional[Path]):  # -> jobman.store.Store
    """The store chosen by --store / $JOBMAN_HOME / the platform default."""
    from jobman.store import Store

    opened = Store(store)
    terminal.detail(f"store: {opened.root}")
    return opened


def _set_quiet(value: bool) -> None:
    if value:
        terminal.quiet = True


def _set_verbose(value: int) -> None:
    if value:
        terminal.verbose = True
    if value >= 2:
        terminal.debug(True)


QuietOption = Annotated[bool, typer.Option("-q", "--quiet", metavar="", callback=_set_quiet,
                                           expose_value=False, help="Print only data, errors and failure summaries.")]
VerboseOption = Annotated[int, typer.Option("-v", "--verbose", metavar="", callback=_set_verbose,
                                            count=True, expose_value=False, show_default=False,
                                            help="Print more detail on stderr; -vv also the errors "
                                                 "jobman ignored, with their traceback.")]


def _verbosity(quiet: QuietOption = False, verbose: VerboseOption = 0) -> None:
    """Only a carrier of -q/-v; see :func:`verbosity_params`."""


def verbosity_params() -> list:
    """Fresh click parameters for -q/--quiet and -v/--verbose, to add to every command."""
    carrier = typer.Typer(add_completion=False)
    carrier.command()(_verbosity)
    return [p for p in typer.main.get_command(carrier).params if p.name in ("quiet", "verbose")]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("jobman")
        except PackageNotFoundError:  # pragma: no cover - run from a source tree, not installed
            number = "unknown"
        terminal.data(f"jobman {number}")
        raise typer.Exit(0)


VersionOption = Annotated[bool, typer.Option("--version", metavar="", callback=_print_version,
                                             is_eager=True, expose_value=False,
                                             help="Print jobman's version and exit.")]


@app.callback()
def _main(quiet: QuietOption = False, verbose: VerboseOption = 0,
          version: VersionOption = False) -> None:
    """Run huge lists of quantum circuits as managed, persisted, resumable job sets."""
