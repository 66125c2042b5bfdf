"""``jobman delete``: remove job sets from the store, after asking."""

from __future__ import annotations

from typing import Any

from typing_extensions import Annotated

from jobman.cli.app import RequiredSetsArgument, StoreOption, app, flag, open_store, terminal
from jobman.exceptions import JobmanError, SetLockedError


@app.command("delete")
def delete_command(
    set_ids: RequiredSetsArgument,
    yes: Annotated[bool, flag("--yes", "-y", help="Do not ask for confirmation.", panel="Options")] = False,
    store: StoreOption = None,
) -> int:
    """Delete job sets and their results (asks first; refuses running sets).

    Example: jobman delete 20261121-0945 --yes
    """
    opened = open_store(store)
    targets = []
    for set_id in set_ids:
        set_store = opened.open_set(set_id)
        _check_not_running(set_store)
        if set_store.id not in (t.id for t in targets):
            targets.append(set_store)
    if not yes and not terminal.confirm(_question(targets)):
        raise JobmanError("nothing deleted; answer y, or pass --yes")
    for set_store in targets:
        with set_store.lock():  # no `jobman resume` can start on it while it goes
            opened.delete_set(set_store.id)
        terminal.info(f"deleted job set {set_store.id}")
    return 0


def _check_not_running(set_store: Any) -> None:
    if set_store.is_locked():
        raise SetLockedError(f"job set {set_store.id} is running; stop it with `jobman cancel "
                             f"{set_store.id}` (or wait with `jobman wait {set_store.id}`), then delete it")


def _question(targets: list[Any]) -> str:
    if len(targets) == 1:
        record = targets[0].record
        return f"Delete job set {record.id} ({record.name}, {record.total} circuits)?"
    return f"Delete {len(targets)} job sets ({', '.join(t.id for t in targets)})?"
