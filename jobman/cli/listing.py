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


@app.command("list")
def list_command(
    status: Annotated[Optional[List[str]], typer.Option(
        "--status", "-s", metavar="STATE", help="Only sets in this state (repeatable): PENDING, "
        "RUNNING, INTERRUPTED, DONE, CANCELLED.", rich_help_panel=FILTER_PANEL)] = None,
    name: Annotated[Optional[str], typer.Option(
        "--name", "-n", metavar="PATTERN", help="Only sets whose name matches (shell pattern like "
        "'bell*'; plain text matches anywhere in the name).", rich_help_panel=FILTER_PANEL)] = None,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", "-l", metavar="N", min=1, help="At most N sets (the newest).",
        rich_help_panel=FILTER_PANEL)] = None,
    json_out: JsonOption = False,
    store: StoreOption = None,
) -> int:
    """List the job sets in the store, newest first.

    Example: jobman list --status ERROR --name 'bell*' --limit 5 --json
    """
    wanted = check_statuses(status, "set")
    opened = open_store(store)
    rows = list(_rows(opened, wanted, name, limit))
    if json_out:
        terminal.json_lines(rows)
    else:
        width = max([len(row["id"]) for row in rows] + [22])
        terminal.data(_columns(width, "ID", "STATUS", "DONE/TOTAL", "BACKEND", "CREATED", "NAME"))
        for row in rows:
            terminal.data(render_row(row, width))
    if not rows:
        filtered = status or name is not None
        terminal.info("no job sets match these filters" if filtered else
                      f"no job sets in {opened.root}; run `jobman run INPUT` to make one")
    return 0


def render_row(row: dict[str, Any], id_width: int) -> str:
    """``20261121-094512-5073fa9  DONE      2000/2000       aer          2026-11-21 09:45  c.qpy``."""
    return _columns(id_width, row["id"], row["status"], f"{row['circuits'].get('DONE', 0)}/{row['total']}",
                    row["backend"] or "-", timestamp(row["created"])[:16], row["name"])


def _columns(id_width: int, *cells: str) -> str:
    ident, status, done, backend, created, name = cells
    return f"{ident:<{id_width}}  {status:<9} {done:<15} {backend:<12} {created:<16}  {name}"


def _rows(store: Any, wanted: set[str], pattern: Optional[str], limit: Optional[int]
          ) -> Iterator[dict[str, Any]]:
    """Matching sets, newest first; stops reading the store once ``limit`` are found."""
    from jobman.selection import select_sets

    for _, summary in select_sets(store, wanted, pattern, limit):
        yield {key: summary[key] for key in COLUMNS}


def check_statuses(statuses: Optional[List[str]], what: str) -> set[str]:
    """Upper-cased statuses from --status (set states when ``what`` is "set", else chunk
    statuses); a usage error names the known ones."""
    from jobman.status import JobStatus

    known = [status.value for status in JobStatus]
    if what == "set":
        from jobman.selection import check_states

        return check_states(statuses)
    wanted = {status.upper() for status in statuses or ()}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise UsageError(f"unknown {what} status {unknown[0]!r}; use one of {', '.join(known)}")
    return wanted
