"""``jobman completions SHELL``: print a completion script; ``__complete-sets`` feeds it set ids.

The checked-in scripts under ``completions/`` are regenerated with::

    python -m jobman.cli.completions completions/          # write jobman.bash, _jobman, jobman.fish
    python -m jobman.cli.completions --check completions/  # exit 1 if they differ from the app
"""

from __future__ import annotations

from typing import Any, Literal

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
    describe: Annotated[bool, flag("--describe", help="Add a tab and the set's name (the id for a name).")] = False,
    store: StoreOption = None,
) -> int:
    """List set ids, then set names, for shell completion, newest first (never fails loudly).

    A name is offered when it names one set and no id starts with it (as SET resolves it).

    Example: jobman __complete-sets --describe
    """
    try:
        lines = _set_lines(store, describe)
    except Exception as error:  # a TAB must not print errors
        from jobman.log import swallowed

        swallowed("listing sets for completion", error)
        return 0
    for line in lines:
        terminal.data(line)
    return 0


def _set_lines(store: Any, describe: bool) -> list[str]:
    """Every set id (a damaged set's too), then each name that SET resolves to one set."""
    from jobman.store import SetStore, Store

    scanned = list(Store(store).scan())
    ids = [set_id for set_id, _ in scanned]
    named = {set_id: opened.record.name for set_id, opened in scanned if isinstance(opened, SetStore)}
    owners: dict[str, list[str]] = {}
    for set_id, name in named.items():
        owners.setdefault(name, []).append(set_id)
    names = [(name, found[0]) for name, found in owners.items() if len(found) == 1 and name
             and name.isprintable() and not any(i.startswith(name) for i in ids)]
    if not describe:
        return ids + [name for name, _ in names]
    return [f"{set_id}\t{named.get(set_id, 'damaged')}" for set_id in ids] + \
        [f"{name}\t{owner}" for name, owner in names]


@app.command("__complete-backends", hidden=True)
def complete_backends_command(
    describe: Annotated[bool, flag("--describe", help="Add a tab and what the backend is.")] = False,
    fake: Annotated[bool, flag("--fake", help="Only the fake devices (for --noise-model).")] = False,
) -> int:
    """List backend names for shell completion: aer, the fake devices, the cached account devices.

    Example: jobman __complete-backends --describe
    """
    from jobman.backend_names import known_backends

    for name, what in known_backends(fake_only=fake):
        terminal.data(f"{name}\t{what}" if describe else name)
    return 0
