"""``jobman status``: where a job set stands; ``--watch`` follows it to the end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from typing_extensions import Annotated

from jobman.cli.app import (OUTPUT_PANEL, WAIT_PANEL, JsonOption, SetArgument, StoreOption, app, flag,
                            open_store, terminal)
from jobman.cli.formatting import plural, totals
from jobman.cli.checks import finite
from jobman.failure_report import DEFAULT_LIMIT, failure_lines, full_failure_lines

if TYPE_CHECKING:  # pragma: no cover
    from jobman.summary import SetSummary

IntervalOption = Annotated[float, typer.Option("--interval", metavar="SECONDS", min=0.05,
                                               callback=finite,
                                               help="Seconds between looks at the store.",
                                               rich_help_panel=WAIT_PANEL)]


@app.command("status")
def status_command(
    set_id: SetArgument = None,
    watch: Annotated[bool, flag("--watch", "-w", help="Follow the set until it is final, then exit "
                                "with its code (0 DONE, 3 some circuits failed).", panel=WAIT_PANEL)] = False,
    interval: IntervalOption = 1.0,
    json_out: JsonOption = False,
    chunks: Annotated[bool, flag("--chunks", "-c", help="Show every chunk.", panel=OUTPUT_PANEL)] = False,
    all_failures: Annotated[bool, flag("--failures", "-f", help="List every failed circuit range "
                                       "(by default a line per reason, at most 10).",
                                       panel=OUTPUT_PANEL)] = False,
    store: StoreOption = None,
) -> int:
    """Show a job set's totals per status and its failed circuits.

    With --watch, redraw on a terminal (or print a line per change elsewhere) until the set ends.

    Failed circuits are listed a line per reason (adjacent ranges merged); --failures lists
    every range, and --json always has them all.

    Example: jobman status --watch
    """
    set_store = open_store(store).open_set(set_id)
    if watch:
        return _watch(set_store, interval, json_out)
    from jobman.summary import summarize

    summary = summarize(set_store, detail=chunks)
    if json_out:
        terminal.json(summary.to_dict())
    else:
        terminal.data(render(summary, max_failures=None if all_failures else DEFAULT_LIMIT))
    return 0


def _watch(set_store: Any, interval: float, json_out: bool) -> int:
    """Follow a set: a live display on a terminal, else a line (or JSON line) per change."""
    from jobman.cli.polling import change_line, changes, poll_set
    from jobman.cli.progress import RateMeter, live, render as render_progress, summary_snapshot
    from jobman.summary import exit_code

    summaries = poll_set(set_store, interval)
    if json_out or not terminal.live:
        for summary in changes(summaries):
            if json_out:
                terminal.json(summary.to_dict())
            else:
                terminal.data(change_line(summary))
            terminal.out.flush()
        return exit_code(summary)
    from rich.console import Group
    from rich.text import Text

    meter = RateMeter()
    latest = [next(summaries)]  # replaced whole, so the drawing thread never sees half an update

    def draw() -> Any:
        summary = latest[0]
        snapshot = summary_snapshot(summary, meter, f"watch {set_store.id}")
        return Group(Text(render(summary, max_failures=10)), render_progress(snapshot))

    with live(terminal, draw):
        for summary in summaries:
            latest[0] = summary
    terminal.data(render(latest[0], max_failures=DEFAULT_LIMIT))
    return exit_code(latest[0])


def render(summary: "SetSummary", max_failures: int | None = DEFAULT_LIMIT) -> str:
    """The human-readable status of a set: a failure line per reason, at most ``max_failures``
    of them (None: every failed range)."""

    lines = [
        f"{summary.id}  {summary.name}  {summary.status.value}"
        + ("  (running)" if summary.running else ""),
        f"backend {summary.backend}, {plural(summary.total, summary.unit)}, "
        f"{plural(summary.num_chunks, 'chunk')} of up to {summary.chunk_size}, {summary.sampling()}",
        f"{summary.unit + 's:':<10}" + totals(summary.circuits),
        "chunks:   " + totals(summary.chunks),
    ]
    if summary.copy_of:
        lines.append(f"a copy (or a move) of job set {summary.copy_of}: it is its own set now")
    lines += [f"chunk {row['chunk']}: {row['fault']} ({row['file']}); {row['repair']}"
              for row in summary.damaged or []]
    lines += [session_line(session) for session in summary.sessions]
    lines += usage_lines(summary.usage)
    if summary.stopped:
        lines.append(stopped_line(summary))
    if max_failures is None:
        lines += full_failure_lines(summary.failures)
    else:
        lines += failure_lines(summary.failures, max_failures,
                               f"jobman status {summary.id} --failures")
    rows = summary.chunk_detail or []
    width = max((len(_span(row)) for row in rows), default=0)
    for row in rows:
        lines.append(f"  chunk {row['chunk']:>5}  {_span(row):<{width}}  {row['status']:<11} "
                     f"attempts {row['attempts']}  job {row['job_id'] or '-'}"
                     + (f"  session {row['session_id']}" if row.get("session_id") else "")
                     + (f"  {row['error']}" if row["error"] else ""))
    return "\n".join(lines)


def usage_lines(usage: dict[str, Any]) -> list[str]:
    """``usage: 12.0 s QPU reported by 3 jobs (estimated 11.5 s)`` from a summary's ``usage``;
    nothing when nothing ran."""
    from jobman.estimate import format_seconds

    if not usage.get("jobs_reported") and not usage.get("estimated_seconds"):
        return []
    what = {"qpu": "QPU", "simulation": "simulation"}.get(usage.get("kind") or "", "")
    text = (f"usage: {format_seconds(usage['seconds'])} {what} reported by {usage['jobs_reported']} "
            f"job{'s' if usage['jobs_reported'] != 1 else ''}").replace("  ", " ")
    if usage.get("estimated_seconds"):
        text += f" (estimated {format_seconds(usage['estimated_seconds'])})"
    return [text]


def stopped_line(summary: "SetSummary") -> str:
    """Why submitting stopped with work left, and how to carry on."""
    from jobman.estimate import format_seconds

    stop = summary.stopped or {}
    pending = summary.circuits.get("PENDING", 0)
    nxt = stop.get("next_job")
    text = (f"stopped at the usage budget (--max-usage {format_seconds(stop.get('max_usage'))}): "
            f"{format_seconds(stop.get('counted'))} used or in flight"
            + (f" + {format_seconds(nxt)} estimated for the next job" if nxt else "")
            + f" would pass it; {pending} circuits left PENDING; run `jobman resume {summary.id} "
            "--max-usage <more>` to carry on")
    return text


def _span(row: dict[str, Any]) -> str:
    """A chunk's circuits as ``0-999``."""
    return f"{row['start']}-{row['stop'] - 1}"


def session_line(session: dict[str, Any]) -> str:
    """``session d1a2b3 on ibm_torino: opened 2026-11-21 09:45`` (``, closed ...`` once replaced)."""
    from jobman.cli.formatting import timestamp

    text = (f"{session.get('mode', 'session')} {session.get('id')} on {session.get('backend', '?')}: "
            f"opened {timestamp(session.get('opened'))[:16]}")
    if session.get("state") == "closed":
        text += f", closed {timestamp(session.get('closed'))[:16]}"
    return text
