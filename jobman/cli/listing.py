"""``jobman list``: the job sets in the store, newest first, with filters."""

from __future__ import annotations

from typing import Any, Iterator, List, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import FILTER_PANEL, JsonOption, StoreOption, app, open_store, terminal
from jobman.cli.formatting import timestamp
from jobman.exceptions import UsageError
from jobman.selection import name_matches  # noqa: F401 - also imported from here

COLUMNS = ("id", "name", "status", "backend", "total", "created", "circuits", "failed", "running")
#: The status ``list`` shows for a set it cannot read (``jobman check SET`` says why).
DAMAGED = "DAMAGED"


@app.command("list")
def list_command(
    status: Annotated[Optional[List[str]], typer.Option(
        "--status", "-s", metavar="STATE", help="Only sets in this state (repeatable): PENDING, "
        "RUNNING, INTERRUPTED, DONE, CANCELLED, DAMAGED (unreadable: see `jobman check`).",
        rich_help_panel=FILTER_PANEL)] = None,
    name: Annotated[Optional[str], typer.Option(
        "--name", "-n", metavar="PATTERN", help="Only sets whose name matches (shell pattern like "
        "'bell*'; plain text matches anywhere in the name).", rich_help_panel=FILTER_PANEL)] = None,
    tag: Annotated[Optional[List[str]], typer.Option(
        "--tag", metavar="KEY[=VALUE]", help="Only sets with this tag (and value); repeatable, "
        "all must match.", rich_help_panel=FILTER_PANEL)] = None,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", "-l", metavar="N", min=1, help="At most N sets (the newest).",
        rich_help_panel=FILTER_PANEL)] = None,
    json_out: JsonOption = False,
    store: StoreOption = None,
) -> int:
    """List the job sets in the store, newest first.

    Example: jobman list --status ERROR --name 'bell*' --tag project=qv --limit 5 --json
    """
    wanted = check_statuses(status, "set", extra=(DAMAGED,))
    tags = _wanted_tags(tag)
    opened = open_store(store)
    rows = list(_rows(opened, wanted, name, limit, tags))
    if json_out:
        terminal.json_lines(rows)
    else:
        width = max([len(row["id"]) for row in rows] + [22])
        terminal.data(_columns(width, "ID", "STATUS", "DONE/TOTAL", "BACKEND", "CREATED", "NAME"))
        for row in rows:
            terminal.data(render_row(row, width))
    if not rows:
        filtered = status or name is not None or tags
        terminal.info("no job sets match these filters" if filtered else
                      f"no job sets in {opened.root}; run `jobman run INPUT` to make one")
    return 0


def render_row(row: dict[str, Any], id_width: int) -> str:
    """``20261121-094512-5073fa9  DONE      2000/2000       aer          2026-11-21 09:45  c.qpy``."""
    if row["status"] == DAMAGED:
        return _columns(id_width, row["id"], DAMAGED, "-", "-", "-", f"(see `jobman check {row['id']}`)")
    name = row["name"] + (f"  (copy of {row['copy_of']})" if row.get("copy_of") else "")
    return _columns(id_width, row["id"], row["status"], f"{row['circuits'].get('DONE', 0)}/{row['total']}",
                    row["backend"] or "-", timestamp(row["created"])[:16], name)


def _columns(id_width: int, *cells: str) -> str:
    ident, status, done, backend, created, name = cells
    return f"{ident:<{id_width}}  {status:<9} {done:<15} {backend:<12} {created:<16}  {name}"


def _wanted_tags(given: Optional[List[str]]) -> dict[str, Optional[str]]:
    """``--tag KEY=VALUE`` (that value) or ``--tag KEY`` (any value)."""
    wanted: dict[str, Optional[str]] = {}
    for item in given or ():
        key, sep, value = item.partition("=")
        if not key.strip():
            raise UsageError(f"--tag {item!r} is not KEY or KEY=VALUE")
        wanted[key.strip()] = value if sep else None
    return wanted


def _rows(store: Any, wanted: set[str], pattern: Optional[str], limit: Optional[int],
          tags: "dict[str, Optional[str]] | None" = None) -> Iterator[dict[str, Any]]:
    """Matching sets, newest first (rows from the store's catalogue where they are still
    true); stops reading the store once ``limit`` are found."""
    listing = store.listing()
    try:
        found = 0
        for set_id, row in listing.rows():
            if limit is not None and found >= limit:
                return
            row = _matching(set_id, row, pattern, tags)
            if row is None or (wanted and row["status"] not in wanted):
                continue
            found += 1
            yield row
    finally:
        listing.save()


def _matching(set_id: str, row: Any, pattern: Optional[str], tags: "dict[str, Optional[str]] | None"
              ) -> Optional[dict[str, Any]]:
    """The set's row if its name and tags match; a damaged set's row says DAMAGED (and a
    warning names the fault), unless a name or tags are asked for."""
    from jobman.records import tags_match

    if isinstance(row, dict):
        if pattern is not None and not name_matches(row["name"], pattern):
            return None
        if tags and not tags_match(row["tags"], tags):
            return None
        return row
    if pattern is not None or tags:
        return None
    terminal.warn(f"job set {set_id} is damaged: {row}")
    return {"id": set_id, "name": None, "status": DAMAGED, "backend": None, "total": None,
            "created": None, "circuits": {}, "error": str(row)}


def check_statuses(statuses: Optional[List[str]], what: str, extra: tuple[str, ...] = ()) -> set[str]:
    """Upper-cased statuses from --status (set states when ``what`` is "set", else chunk
    statuses); a usage error names the known ones."""
    from jobman.status import JobStatus

    known = [status.value for status in JobStatus] + list(extra)
    if what == "set":
        from jobman.selection import check_states

        return check_states(set(statuses or ()) - set(extra)) | ({s.upper() for s in statuses or ()} & set(extra))
    wanted = {status.upper() for status in statuses or ()}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise UsageError(f"unknown {what} status {unknown[0]!r}; use one of {', '.join(known)}")
    return wanted
