"""``jobman cancel``: stop a job set; what finished stays queryable."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from jobman.cli.app import SetArgument, StoreOption, app, open_store, terminal
from jobman.cli.checks import finite


@app.command("cancel")
def cancel_command(
    set_id: SetArgument = None,
    wait: Annotated[float, typer.Option("--wait", metavar="SECONDS", min=0, callback=finite,
                    help="How long to wait for a running `jobman run`/`resume` to stop.",
                    rich_help_panel="Submission")] = 10.0,
    store: StoreOption = None,
) -> int:
    """Cancel a job set: drop pending submissions, cancel queued and running jobs.

    Circuits that already finished keep their results; `jobman retry` resubmits the
    cancelled ones. Example: jobman cancel 20261121-0945
    """
    from jobman.manager import JobManager

    job_set = JobManager(open_store(store)).cancel(set_id, wait=wait)
    set_id = job_set.job_set_id()
    if job_set.is_running():
        terminal.info(f"cancel requested; the process running job set {set_id} is stopping it "
                      f"(see `jobman status {set_id}`)")
        return 0
    summary = job_set.summary()
    totals = ", ".join(f"{count} {status}" for status, count in summary.circuits.items())
    terminal.info(f"job set {set_id}: {summary.status.value} ({totals})")
    return 0
