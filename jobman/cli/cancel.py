"""``jobman cancel``: stop a job set; what finished stays queryable."""

from __future__ import annotations

from jobman.cli.app import SetArgument, StoreOption, app, open_store, terminal


@app.command("cancel")
def cancel_command(set_id: SetArgument = None, store: StoreOption = None) -> int:
    """Cancel a job set's pending and running chunks.

    Example: jobman cancel 20261121-0945
    """
    from jobman.manager import JobManager

    job_set = JobManager(open_store(store)).cancel(set_id)
    terminal.info(f"cancel requested for job set {job_set.job_set_id()}")
    return 0
