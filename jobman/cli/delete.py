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

    A set is the folder it lives in: deleting a copy never touches the original, and a
    damaged set can be deleted too.

    Example: jobman delete 20261121-0945 --yes
    """
    opened = open_store(store)
    targets: dict[str, Any] = {}  # folder name -> the opened set, or why it cannot be opened
    for set_id in set_ids:
        folder = opened.resolve(set_id)
        _check_not_running(opened, folder)
        targets.setdefault(folder, opened.try_open(folder))
    if not yes and not terminal.confirm(_question(targets)):
        raise JobmanError("nothing deleted; answer y, or pass --yes")
    for folder in targets:
        opened.delete_set(folder)  # under the folder's own lock: no `jobman resume` can start on it
        terminal.info(f"deleted job set {folder}")
    return 0


def _check_not_running(opened: Any, folder: str) -> None:
    if opened.is_locked(folder):
        raise SetLockedError(f"job set {folder} is running; stop it with `jobman cancel "
                             f"{folder}` (or wait with `jobman wait {folder}`), then delete it")


def _describe(folder: str, opened: Any) -> str:
    from jobman.store import SetStore

    if not isinstance(opened, SetStore):
        return f"{folder} (damaged: {opened})"
    record = opened.record
    copy = f", a copy of {record.id}" if opened.is_copy else ""
    return f"{folder} ({record.name}, {record.total} circuits{copy})"


def _question(targets: dict[str, Any]) -> str:
    if len(targets) == 1:
        folder, opened = next(iter(targets.items()))
        return f"Delete job set {_describe(folder, opened)}?"
    return f"Delete {len(targets)} job sets ({', '.join(targets)})?"
