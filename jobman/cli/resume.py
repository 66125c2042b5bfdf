"""``jobman resume`` and ``jobman retry``: carry on after a crash, resubmit what failed."""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import SetArgument, StoreOption, app, open_store, terminal
from jobman.cli.cluster import (ExecutorOption, RayAddressOption, RayNumCpusOption, executor_flags,
                                executor_options)
from jobman.cli.detach import DetachOption, LockFdOption, launch
from jobman.cli.progress import follow
from jobman.cli.run import MaxUsageOption, announce, finish, parse_duration


@app.command("resume")
def resume_command(set_id: SetArgument = None, max_usage: MaxUsageOption = None,
                   detach: DetachOption = False, lock_fd: LockFdOption = None,
                   executor: ExecutorOption = None, ray_address: RayAddressOption = None,
                   ray_num_cpus: RayNumCpusOption = None, store: StoreOption = None) -> int:
    """Carry on with a job set that stopped (crash, kill, Ctrl-C, usage budget).

    Chunks already done are not run again; prints the set id on stdout. Aer sets run where
    they ran (the recorded --executor and --ray-address) unless --executor says otherwise:
    --executor local carries on on this machine when the cluster is gone.
    Example: jobman resume 20261121-0945 --max-usage 30m

    Example: jobman resume 20261121-0945 --executor local

    Example: jobman resume 20261121-0945 --detach && jobman logs 20261121-0945 --follow
    """
    from jobman.manager import JobManager

    budget = parse_duration(max_usage, "--max-usage")
    manager = JobManager(open_store(store))
    if detach and lock_fd is None:
        flags = (["--max-usage", max_usage] if max_usage is not None else []) + \
            executor_flags(executor, ray_address, ray_num_cpus)
        return launch(*manager.hold(set_id), ["resume", *flags])
    with follow(terminal, "resume") as progress:
        job_set = manager.resume(set_id, on_change=progress.on_change, max_usage=budget, held_lock=lock_fd,
                                 on_start=lambda started: _started(started, progress),
                                 **executor_options(executor, ray_address, ray_num_cpus))
    return finish(job_set)


@app.command("retry")
def retry_command(
    set_id: SetArgument = None,
    circuit: Annotated[Optional[str], typer.Option("--circuit", "-c", metavar="SPEC",
                       help="Only these failed circuits (42, 100-199, 1,5 or a name).",
                       rich_help_panel="Circuits")] = None,
    on_failure: Annotated[Optional[str], typer.Option("--on-failure", metavar="continue|abort",
                          help="Override the set's --on-failure policy for this retry.",
                          rich_help_panel="Submission")] = None,
    detach: DetachOption = False,
    lock_fd: LockFdOption = None,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    ray_num_cpus: RayNumCpusOption = None,
    store: StoreOption = None,
) -> int:
    """Resubmit only the failed or cancelled circuits of a finished job set.

    Prints the set id on stdout. Example: jobman retry --circuit 2000-2299

    Example: jobman retry 20261121-0945 --detach
    """
    from jobman.manager import JobManager, check_on_failure
    from jobman.spec import parse_spec, unique_names

    manager = JobManager(open_store(store))
    indices = None
    if circuit is not None:
        found = manager.store.open_set(set_id)
        indices = parse_spec(circuit, found.record.total, unique_names(found.find_names))
        set_id = found.id
    if detach and lock_fd is None:
        check_on_failure(on_failure)
        set_store, held = manager.hold(set_id, retry=True, indices=None if indices is None else set(indices))
        flags = (["--circuit", circuit] if circuit is not None else []) + \
            (["--on-failure", on_failure] if on_failure is not None else []) + \
            executor_flags(executor, ray_address, ray_num_cpus)
        return launch(set_store, held, ["retry", *flags])
    with follow(terminal, "retry") as progress:
        job_set = manager.retry(set_id, indices, on_change=progress.on_change, on_failure=on_failure,
                                held_lock=lock_fd, on_start=lambda started: _started(started, progress),
                                **executor_options(executor, ray_address, ray_num_cpus))
    return finish(job_set)


def _started(job_set, progress) -> None:
    """The set is locked and ready: its id on stdout, then the progress display."""
    announce(job_set.job_set_id())
    progress.start(job_set.set_store)
