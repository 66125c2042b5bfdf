"""``jobman jobs``: the chunk table of a job set, one backend job (or retry) per chunk."""

from __future__ import annotations

from typing import Any, List, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import FILTER_PANEL, JsonOption, SetArgument, StoreOption, app, open_store, terminal
from jobman.estimate import chunk_usage, format_seconds
from jobman.spec import format_range

HEADER = f"{'CHUNK':>6}  {'CIRCUITS':<15} {'STATUS':<11} {'ATTEMPTS':>8}  JOB IDS"


@app.command("jobs")
def jobs_command(
    set_id: SetArgument = None,
    status: Annotated[Optional[List[str]], typer.Option(
        "--status", "-s", metavar="STATUS", help="Only chunks in this status (repeatable): DONE, "
        "ERROR, RUNNING, ...", rich_help_panel=FILTER_PANEL)] = None,
    json_out: JsonOption = False,
    store: StoreOption = None,
) -> int:
    """List a job set's chunks with their status, attempts and job ids.

    Example: jobman jobs --status ERROR --json
    """
    from jobman.cli.listing import check_statuses

    wanted = check_statuses(status, "chunk")
    set_store = open_store(store).open_set(set_id)
    rows = (row(chunk) for chunk in set_store.chunks() if not wanted or chunk.status in wanted)
    if json_out:
        terminal.json_lines(rows)
        return 0
    terminal.data(HEADER)
    for item in rows:
        terminal.data(render_row(item))
    return 0


def row(chunk: Any) -> dict[str, Any]:
    """One chunk as JSON-ready data."""
    return {"chunk": chunk.index, "start": chunk.start, "stop": chunk.stop, "status": chunk.status,
            "attempts": len(chunk.attempts), "job_ids": [a.job_id for a in chunk.attempts if a.job_id],
            "session_ids": list(dict.fromkeys(a.session_id for a in chunk.attempts if a.session_id)),
            "failed": chunk.failed_count(), "error": chunk.error, "reasons": reasons(chunk),
            "usage_seconds": chunk_usage(chunk.attempts),
            "usage": [dict(a.usage, job_id=a.job_id, attempt=a.number, estimate_seconds=a.estimate_seconds)
                      for a in chunk.attempts if a.usage]}


def reasons(chunk: Any) -> list[str]:
    """Every distinct reason a circuit of the chunk failed for, in circuit order."""
    return list(dict.fromkeys(reason for *_, reason in chunk.failed))


def render_row(item: dict[str, Any]) -> str:
    """``     7  700-799         DONE               1  aer-7-1-0``."""
    text = (f"{item['chunk']:>6}  {format_range(item['start'], item['stop']):<15} {item['status']:<11} "
            f"{item['attempts']:>8}  {' '.join(item['job_ids']) or '-'}")
    if item.get("session_ids"):
        text += f"  session {' '.join(item['session_ids'])}"
    if item.get("usage_seconds") is not None:
        text += f"  usage {format_seconds(item['usage_seconds'])}"
    named = item.get("reasons") or ([item["error"]] if item["error"] else [])
    if named:
        text += f"  ({item['failed']} failed: {'; '.join(named)})"
    return text
