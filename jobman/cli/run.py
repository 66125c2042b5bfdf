"""``jobman run``: run circuits from files as a new job set."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import StoreOption, app, open_store, terminal
from jobman.cli.progress import follow


@app.command("run")
def run_command(
    inputs: Annotated[List[Path], typer.Argument(metavar="INPUT...", show_default=False,
                      help="QPY or OpenQASM 2/3 files, or directories of them (sorted by name).")],
    backend: Annotated[str, typer.Option("--backend", "-b", help="Where to run: aer (local simulator).",
                       rich_help_panel="Backend")] = "aer",
    shots: Annotated[int, typer.Option("--shots", "-s", help="Shots per circuit.",
                     rich_help_panel="Task")] = 1024,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Simulator seed; a circuit's result then "
                    "depends only on the seed and its index.", rich_help_panel="Task")] = None,
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", "-k", metavar="K",
                          help="Most circuits per job (the backend's limits may lower it).",
                          rich_help_panel="Task")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="A name for the job set.",
                    rich_help_panel="Task")] = None,
    memory: Annotated[bool, typer.Option("--memory", help="Keep per-shot outcomes.",
                      rich_help_panel="Task")] = False,
    max_in_flight: Annotated[Optional[int], typer.Option("--max-in-flight", help="Most jobs submitted "
                             "and unfinished at once.", rich_help_panel="Submission")] = None,
    max_retries: Annotated[int, typer.Option("--max-retries", help="Retries of a transient failure "
                           "(per call and per chunk).", rich_help_panel="Submission")] = 3,
    on_failure: Annotated[str, typer.Option("--on-failure", metavar="continue|abort",
                          help="On a failed circuit: finish the rest, or stop and cancel the rest.",
                          rich_help_panel="Submission")] = "continue",
    store: StoreOption = None,
) -> int:
    """Run circuits as a new job set; print its id; wait for the end.

    The set id goes to stdout as soon as the set exists; progress goes to stderr.

    Example: jobman run examples/circuits.qpy --shots 1000 --seed 7
    """
    from jobman.manager import JobManager

    manager = JobManager(open_store(store))

    with follow(terminal, "run") as progress:
        def created(job_set) -> None:
            terminal.data(job_set.job_set_id())
            terminal.out.flush()
            terminal.detail(f"job set folder: {manager.store.root / job_set.job_set_id()}")
            progress.start(manager.store.open_set(job_set.job_set_id()), fresh=True)

        job_set = manager.run([str(p) for p in inputs], backend=backend, shots=shots, seed=seed,
                              chunk_size=chunk_size, name=name, memory=memory,
                              max_in_flight=max_in_flight, max_retries=max_retries,
                              on_failure=on_failure, on_change=progress.on_change, on_created=created)
    return finish(job_set)


def finish(job_set) -> int:
    """Report how a set ended on stderr and return its exit code."""
    from jobman.summary import describe_failure, exit_code

    summary = job_set.summary()
    totals = ", ".join(f"{count} {status}" for status, count in summary["circuits"].items())
    terminal.info(f"job set {summary['id']}: {summary['status']} ({totals})")
    for row in summary["failures"][:20]:
        terminal.info(describe_failure(row))
    if len(summary["failures"]) > 20:
        terminal.info(f"... and {len(summary['failures']) - 20} more; see `jobman status {summary['id']}`")
    return exit_code(summary["status"])
