"""``jobman status``: where a job set stands."""

from __future__ import annotations

from typing import Any

import typer
from typing_extensions import Annotated

from jobman.cli.app import JsonOption, SetArgument, StoreOption, app, open_store, terminal


@app.command("status")
def status_command(
    set_id: SetArgument = None,
    json_out: JsonOption = False,
    chunks: Annotated[bool, typer.Option("--chunks", "-c", help="Show every chunk.",
                                         rich_help_panel="Output")] = False,
    store: StoreOption = None,
) -> int:
    """Show a job set's totals per status and its failed circuits.

    Example: jobman status --json
    """
    from jobman.summary import summarize

    set_store = open_store(store).open_set(set_id)
    summary = summarize(set_store, detail=chunks)
    if json_out:
        terminal.json(summary)
    else:
        terminal.data(render(summary))
    return 0


def render(summary: dict[str, Any]) -> str:
    """The human-readable status of a set."""
    from jobman.manager import describe_failure

    lines = [
        f"{summary['id']}  {summary['name']}  {summary['status']}"
        + ("  (running)" if summary["running"] else ""),
        f"backend {summary['backend']}, {summary['total']} circuits, {summary['num_chunks']} chunks "
        f"of up to {summary['chunk_size']}, {summary['shots']} shots",
        "circuits: " + _totals(summary["circuits"]),
        "chunks:   " + _totals(summary["chunks"]),
    ]
    lines += [describe_failure(row) for row in summary["failures"]]
    for row in summary.get("chunk_detail", []):
        lines.append(f"  chunk {row['chunk']:>5}  {row['start']}-{row['stop'] - 1}  {row['status']:<10} "
                     f"attempts {row['attempts']}  job {row['job_id'] or '-'}"
                     + (f"  {row['error']}" if row["error"] else ""))
    return "\n".join(lines)


def _totals(totals: dict[str, int]) -> str:
    return ", ".join(f"{status} {count}" for status, count in totals.items()) or "none"
