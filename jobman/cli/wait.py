"""``jobman wait``: block until a job set is final and exit with its code."""

from __future__ import annotations

from typing import Any, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import WAIT_PANEL, JsonOption, SetArgument, StoreOption, app, open_store, terminal
from jobman.cli.checks import finite
from jobman.cli.formatting import totals
from jobman.cli.status import IntervalOption


@app.command("wait")
def wait_command(
    set_id: SetArgument = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", "-t", metavar="SECONDS", min=0,
                       callback=finite,
                       help="Give up after this long (exit 124).", rich_help_panel=WAIT_PANEL)] = None,
    interval: IntervalOption = 1.0,
    json_out: JsonOption = False,
    store: StoreOption = None,
) -> int:
    """Wait until a job set is final; exit 0 if DONE, 3 if circuits failed.

    Prints nothing on stdout (the final summary with --json). Fails (exit 1) when the set is
    unfinished and no process has been running it for a few seconds: resume it first.

    Example: jobman wait 20261121-0945 --timeout 3600 && jobman export 20261121-0945 > out.jsonl
    """
    from jobman.cli.polling import poll_set
    from jobman.failure_report import failure_lines
    from jobman.summary import exit_code

    set_store = open_store(store).open_set(set_id)
    summary = _follow(set_store, poll_set(set_store, interval, timeout))
    if json_out:
        terminal.json(summary.to_dict())
    code = exit_code(summary)
    say = terminal.info if code == 0 else terminal.failure  # a failure is said even with -q
    say(f"job set {summary.id}: {summary.status.value} ({totals(summary.circuits)})")
    if code and not json_out:
        for line in failure_lines(summary.failures, more_hint=f"jobman status {summary.id} --failures"):
            say(line)
    return code


def _follow(set_store: Any, summaries: Any) -> Any:
    """Drain the polled summaries (with a live display on a terminal); return the last."""
    from jobman.cli.progress import RateMeter, live, render, summary_snapshot

    meter = RateMeter()
    latest = [next(summaries)]
    with live(terminal, lambda: render(summary_snapshot(latest[0], meter, f"wait {set_store.id}"))):
        for summary in summaries:
            latest[0] = summary
    return latest[0]
