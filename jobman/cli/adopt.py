"""``jobman adopt``: track jobs already submitted to IBM Quantum as a new job set."""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import StoreOption, app, open_store, terminal
from jobman.cli.progress import follow
from jobman.cli.run import BACKEND_PANEL, finish
from jobman.exceptions import UsageError

FIND_PANEL = "Jobs to adopt"


@app.command("adopt")
def adopt_command(
    tag: Annotated[Optional[str], typer.Option("--tag", "-t", metavar="TAG", help="Jobs carrying this "
                   "tag, e.g. --tag my-experiment.", rich_help_panel=FIND_PANEL)] = None,
    session: Annotated[Optional[str], typer.Option("--session", metavar="ID", help="Jobs of this "
                       "session or batch, e.g. --session d4f1...", rich_help_panel=FIND_PANEL)] = None,
    account: Annotated[Optional[str], typer.Option("--account", metavar="NAME", help="Saved "
                       "qiskit-ibm-runtime account, e.g. --account work.", rich_help_panel=BACKEND_PANEL)] = None,
    instance: Annotated[Optional[str], typer.Option("--instance", metavar="CRN", help="IBM Quantum "
                        "instance (CRN or name).", rich_help_panel=BACKEND_PANEL)] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="A name for the job set.",
                    rich_help_panel="Task")] = None,
    store: StoreOption = None,
) -> int:
    """Track jobs submitted to IBM Quantum elsewhere as a new job set.

    Circuits come from the jobs' inputs; each job becomes a chunk; jobman follows them, merges
    their results and exports them like its own. Example: jobman adopt --tag my-experiment
    """
    from jobman.backends.ibm import IBMBackend
    from jobman.backends.ibm_adopt import find_jobs
    from jobman.backends.ibm_service import connect
    from jobman.manager import JobManager

    if not tag and not session:
        raise UsageError("give --tag TAG or --session ID (or both)")
    service = connect(account, instance)
    found = find_jobs(service, tag, session)
    readable = [job for job in found if job.problem is None and job.backend]
    if not readable:
        why = "; ".join(f"{job.job_id}: {job.problem}" for job in found[:5]) or "no jobs match"
        raise UsageError(f"nothing to adopt ({why})")
    backend = IBMBackend(readable[0].backend, skip_transpile=True, account=account, instance=instance,
                         service=service)
    manager = JobManager(open_store(store))
    with follow(terminal, "adopt") as progress:
        def created(job_set) -> None:
            terminal.data(job_set.job_set_id())
            terminal.out.flush()
            for skipped in job_set._set.record.options["adopted"]["skipped"]:
                terminal.warn(f"job {skipped['job_id']} not adopted: {skipped['reason']}")
            progress.start(manager.store.open_set(job_set.job_set_id()))

        job_set = manager.adopt(found, backend, name=name, on_change=progress.on_change,
                                on_created=created, source_note={"tag": tag, "session": session})
    return finish(job_set)
