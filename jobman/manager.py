"""The library's front door: ``JobManager().run(...)`` and the handle it returns.

Names follow Qiskit's old IBMQJobManager: ``JobManager.run`` returns a
``ManagedJobSet`` with ``job_set_id()``, ``statuses()``, ``report()`` and ``results()``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from jobman.backends import get_backend
from jobman.backends.base import Backend, RunOptions
from jobman.engine import ON_FAILURE_CHOICES, Engine, EngineConfig, WorkItem
from jobman.exceptions import JobmanError, UsageError
from jobman.plan import chunk_size_for, plan_chunks
from jobman.records import ChunkRecord, SetRecord
from jobman.result import ManagedResult
from jobman.retry import RetryPolicy
from jobman.spec import to_ranges
from jobman.status import JobStatus
from jobman.store import SetStore, Store, new_set_id
from jobman.summary import summarize

if TYPE_CHECKING:  # pragma: no cover
    from jobman.inputs import CircuitSource

#: Where circuits given as objects (not files) are kept inside the set folder.
EMBEDDED_INPUT = "inputs/circuits.qpy"


class ManagedJobSet:
    """A job set in the store: follow it, report on it, get its merged result."""

    def __init__(self, set_store: SetStore, engine: Engine | None = None) -> None:
        self._set = set_store
        self.engine = engine

    def job_set_id(self) -> str:
        """The set's id (what ``jobman status ID`` takes)."""
        return self._set.id

    @property
    def name(self) -> str:
        return self._set.record.name

    def statuses(self) -> list[JobStatus]:
        """The status of every chunk (one backend job each), in chunk order."""
        return [chunk.job_status for chunk in self._set.chunks()]

    def status(self) -> JobStatus:
        """The set's overall status."""
        return JobStatus(self.summary()["status"])

    def summary(self, detail: bool = False) -> dict[str, Any]:
        """Totals per status, failures and facts about the set, as data."""
        return summarize(self._set, detail=detail)

    def report(self) -> str:
        """A short human-readable report of the set's state."""
        s = self.summary()
        lines = [f"Job set {s['id']} ({s['name']}): {s['status']}",
                 f"  backend {s['backend']}, {s['total']} circuits in {s['num_chunks']} chunks, "
                 f"{s['shots']} shots",
                 "  circuits: " + ", ".join(f"{k} {v}" for k, v in s["circuits"].items())]
        for row in s["failures"]:
            lines.append(f"  {describe_failure(row)}")
        return "\n".join(lines)

    def results(self) -> ManagedResult:
        """The merged result, queryable by global circuit index or name."""
        return ManagedResult(self._set)


def describe_failure(row: dict[str, Any]) -> str:
    """``circuits 2000-2299 failed (chunk 7, 3 attempts): reason``."""
    start, stop = row["start"], row["stop"]
    what = f"circuit {start}" if stop == start + 1 else f"circuits {start}-{stop - 1}"
    verb = "failed" if row["status"] == JobStatus.ERROR.value else "were cancelled"
    attempts = row["attempts"]
    return (f"{what} {verb} (chunk {row['chunk']}, {attempts} attempt{'s' if attempts != 1 else ''}): "
            f"{row['reason']}")


class JobManager:
    """Runs tasks as managed job sets, persisted in a store."""

    def __init__(self, store: Store | str | os.PathLike | None = None) -> None:
        self.store = store if isinstance(store, Store) else Store(store)

    # creating -----------------------------------------------------------------------
    def run(self, circuits: Sequence[Any] | str | os.PathLike, backend: str | Backend = "aer", *,
            shots: int = 1024, seed: int | None = None, chunk_size: int | None = None,
            name: str | None = None, memory: bool = False, max_in_flight: int | None = None,
            max_retries: int = 3, on_failure: str = "continue",
            on_change: Callable[[ChunkRecord], None] | None = None,
            on_created: Callable[[ManagedJobSet], None] | None = None) -> ManagedJobSet:
        """Run circuits (objects, or paths to QPY/QASM files or directories) and wait for the end."""
        _check_options(shots, seed, on_failure, max_in_flight)
        backend_obj = backend if isinstance(backend, Backend) else get_backend(backend)
        set_id = new_set_id()
        try:
            source, inputs = self._open_inputs(circuits, set_id)
            options = RunOptions(shots=shots, seed=seed, memory=memory)
            size = chunk_size_for(len(source), shots, backend_obj.limits(), chunk_size)
            ranges = plan_chunks(len(source), size)
            record = SetRecord(id=set_id, name=name or _default_name(inputs), created=time.time(),
                               inputs=inputs, backend=backend_obj.describe(), options=options.to_dict(),
                               total=len(source), chunk_size=size, num_chunks=len(ranges))
            record.options["engine"] = {"max_in_flight": max_in_flight, "max_retries": max_retries,
                                        "on_failure": on_failure}
            chunks = [ChunkRecord(index=i, start=a, stop=b) for i, (a, b) in enumerate(ranges)]
            set_store = self.store.create_set(record, chunks)
            if inputs[0].get("embedded"):  # the staging folder was renamed: reopen from the set
                from jobman.inputs import open_source

                source.close()
                source = open_source([set_store.paths.folder / EMBEDDED_INPUT])
        except BaseException:
            self.store.discard_staging(set_id)
            backend_obj.close()
            raise
        job_set = ManagedJobSet(set_store)
        if on_created is not None:
            on_created(job_set)
        work = [WorkItem(c.index, [(c.start, c.stop)]) for c in chunks]
        return self._drive(set_store, source, backend_obj, work, on_change)

    def _open_inputs(self, circuits: Any, set_id: str) -> tuple["CircuitSource", list[dict[str, Any]]]:
        from jobman.inputs import open_source

        if isinstance(circuits, (str, os.PathLike)):
            circuits = [circuits]
        items = list(circuits)
        if not items:
            raise UsageError("no circuits given")
        if all(isinstance(item, (str, os.PathLike)) for item in items):
            source = open_source(items)
            return source, [f.to_dict() for f in source.files]
        staging = self.store.staging_folder(set_id)
        path = staging / EMBEDDED_INPUT
        path.parent.mkdir(parents=True, exist_ok=True)
        from qiskit import qpy

        with open(path, "wb") as handle:
            qpy.dump(items, handle)
        source = open_source([path])
        inputs = [dict(f.to_dict(), path=EMBEDDED_INPUT, embedded=True) for f in source.files]
        return source, inputs

    # continuing ---------------------------------------------------------------------
    def resume(self, set_id: str | None = None, backend: Backend | None = None,
               on_change: Callable[[ChunkRecord], None] | None = None) -> ManagedJobSet:
        """Carry on with a set whose process stopped: unfinished chunks only."""
        set_store = self.store.open_set(set_id)
        chunks = set_store.chunks()
        work = [WorkItem(c.index, [(c.start, c.stop)]) for c in chunks if not c.job_status.is_final]
        return self._continue(set_store, work, backend, on_change)

    def retry(self, set_id: str | None = None, indices: Sequence[int] | None = None,
              backend: Backend | None = None,
              on_change: Callable[[ChunkRecord], None] | None = None) -> ManagedJobSet:
        """Resubmit the failed or cancelled circuits (all, or those in ``indices``) of a set."""
        set_store = self.store.open_set(set_id)
        chunks = set_store.chunks()
        if any(not c.job_status.is_final for c in chunks):
            raise UsageError(f"job set {set_store.id} is not finished; use `jobman resume` first")
        wanted = set(indices) if indices is not None else None
        work = []
        for chunk in chunks:
            failed = [i for start, stop, *_ in chunk.failed for i in range(start, stop)
                      if wanted is None or i in wanted]
            if failed:
                work.append(WorkItem(chunk.index, to_ranges(failed)))
        return self._continue(set_store, work, backend, on_change)

    def _continue(self, set_store: SetStore, work: list[WorkItem], backend: Backend | None,
                  on_change: Callable[[ChunkRecord], None] | None) -> ManagedJobSet:
        from jobman.inputs import reopen_source
        from jobman.inputs import InputFile

        files = [InputFile.from_dict(dict(f, path=str(set_store.paths.folder / f["path"]))
                                     if f.get("embedded") else f) for f in set_store.record.inputs]
        source = reopen_source(files)
        backend_obj = backend or get_backend(set_store.record.backend["name"])
        set_store.paths.cancel_file.unlink(missing_ok=True)
        return self._drive(set_store, source, backend_obj, work, on_change)

    def _drive(self, set_store: SetStore, source: "CircuitSource", backend: Backend,
               work: list[WorkItem], on_change: Callable[[ChunkRecord], None] | None) -> ManagedJobSet:
        engine_opts = set_store.record.options.get("engine", {})
        config = EngineConfig(max_in_flight=engine_opts.get("max_in_flight"),
                              on_failure=engine_opts.get("on_failure", "continue"),
                              retry=RetryPolicy(max_retries=engine_opts.get("max_retries", 3)))
        options = RunOptions.from_dict(set_store.record.options)
        with set_store.lock():
            engine = Engine(set_store, source, backend, options, config, on_change)
            try:
                engine.run(work)
            finally:
                source.close()
                backend.close()
        return ManagedJobSet(set_store, engine)

    # reading and cancelling -----------------------------------------------------------
    def job_set(self, set_id: str | None = None) -> ManagedJobSet:
        """An existing set by id, prefix or name (the newest when None)."""
        return ManagedJobSet(self.store.open_set(set_id))

    def cancel(self, set_id: str | None = None) -> ManagedJobSet:
        """Stop a set: ask its running process to cancel, or cancel its unfinished chunks now."""
        set_store = self.store.open_set(set_id)
        if set_store.is_locked():
            set_store.paths.cancel_file.write_text("cancel\n")
            return ManagedJobSet(set_store)
        with set_store.lock():
            for chunk in set_store.chunks():
                if not chunk.job_status.is_final:
                    chunk.failed = [[chunk.start, chunk.stop, JobStatus.CANCELLED.value, "cancelled by request"]]
                    chunk.error = "cancelled by request"
                    chunk.set_status(JobStatus.CANCELLED)
                    set_store.save_chunk(chunk)
        return ManagedJobSet(set_store)


def _check_options(shots: int, seed: int | None, on_failure: str, max_in_flight: int | None) -> None:
    if isinstance(shots, bool) or not isinstance(shots, int) or shots <= 0:
        raise UsageError(f"shots must be a positive integer, not {shots!r}")
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise UsageError(f"seed must be a non-negative integer, not {seed!r}")
    if on_failure not in ON_FAILURE_CHOICES:
        raise UsageError(f"--on-failure must be one of {', '.join(ON_FAILURE_CHOICES)}, not {on_failure!r}")
    if max_in_flight is not None and max_in_flight <= 0:
        raise UsageError(f"--max-in-flight must be a positive integer, not {max_in_flight}")


def _default_name(inputs: list[dict[str, Any]]) -> str:
    first = Path(inputs[0]["path"]).name if inputs else "circuits"
    return first if len(inputs) == 1 else f"{first}+{len(inputs) - 1}"
