"""``jobman completions SHELL``: print a completion script; ``__complete-sets`` feeds it set ids.

The checked-in scripts under ``completions/`` are regenerated with::

    python -m jobman.cli.completions completions/          # write jobman.bash, _jobman, jobman.fish
    python -m jobman.cli.completions --check completions/  # exit 1 if they differ from the app
"""

from __future__ import annotations

from typing import Literal

import typer
from typing_extensions import Annotated

from jobman.cli.app import StoreOption, app, flag, terminal


@app.command("completions")
def completions_command(
    shell: Annotated[Literal["bash", "zsh", "fish"], typer.Argument(
        metavar="SHELL", help="bash, zsh or fish.", show_default=False)],
) -> int:
    """Print a bash, zsh or fish completion script (install notes at its top).

    Example: jobman completions bash > ~/.local/share/bash-completion/completions/jobman
    """
    from jobman.cli.completions.scripts import render_script

    terminal.out.write(render_script(shell, app))
    return 0


@app.command("__complete-sets", hidden=True)
def complete_sets_command(
    describe: Annotated[bool, flag("--describe", help="Add a tab and the set's name.")] = False,
    store: StoreOption = None,
) -> int:
    """List set ids for shell completion, newest first (never fails loudly).

    Example: jobman __complete-sets --describe
    """
    from jobman.store import Store

    try:
        sets = Store(store).list_sets() if describe else Store(store).set_ids()
    except Exception:  # a TAB must not print errors
        return 0
    for item in sets:
        terminal.data(f"{item.id}\t{item.record.name}" if describe else item)
    return 0
