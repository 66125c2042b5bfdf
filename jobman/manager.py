"""The library's front door: ``JobManager().run(...)`` and the handle it returns.

Names follow Qiskit's old IBMQJobManager: ``JobManager.run`` returns a
:class:`~jobman.job_set.ManagedJobSet` with ``job_set_id()``, ``status()``, ``report()`` and
``results()``; with ``wait=False`` it returns at once while a background thread runs the set.

Every command that writes a set (run, resume, retry, an offline cancel) holds the set's lock
while it does; a second writer gets :class:`~jobman.exceptions.SetLockedError`.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import replace
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from jobman.backends import backend_from_record, backend_record, get_backend
from jobman.backends.base import Backend, RunOptions
from jobman.bookkeeping import Bookkeeping, Flight, WorkItem
from jobman.engine import ON_FAILURE_CHOICES, Engine, EngineConfig
from jobman.recovery import cancel_unfinished, plan_retry, plan_unfinished
from jobman.retry import BackendCalls, RetryPolicy
from jobman.exceptions import Interrupted, JobmanError, SetLockedError, StoreError, UsageError
from jobman.fsio import make_folder
from jobman.plan import chunk_size_for, payload_per_circuit, plan_chunks
from jobman.records import Attempt, ChunkRecord, EngineOptions, SetRecord
from jobman.job_set import ManagedJobSet
from jobman.notify import OPTION as NOTIFY_OPTION, notify
from jobman.status import JobStatus
from jobman.store import SetStore, Store, new_set_id
from jobman.summary import describe_failure, exit_code, summarize

if TYPE_CHECKING:  # pragma: no cover
    from jobman.dryrun import DryRun
    from jobman.inputs import CircuitSource

__all__ = ["JobManager", "ManagedJobSet", "describe_failure"]

#: Largest --seed: Aer and the transpiler take seeds of 64 bits (signed, for Aer).
MAX_SEED = 2**63 - 1
#: Where circuits given as objects (not files) are kept inside the set folder.
EMBEDDED_INPUT = "inputs/circuits.qpy"
#: Where inputs read once (stdin, FIFOs, ``<(...)``) are kept inside the set folder.
STREAM_INPUTS = "inputs/streams"

Plan = Callable[[Engine], "tuple[list[WorkItem], list[Flight]]"]
OnChange = Callable[[ChunkRecord], None]
OnStart = Callable[["ManagedJobSet"], None]


class JobManager:
    """Runs tasks as managed job sets, persisted in a store.

    ``executor`` says where Aer chunks run unless a call says otherwise: ``None``/``"local"``
    (worker processes here), ``"ray"`` (a Ray cluster), or any ``concurrent.futures.Executor``
    (a process pool, ``dask.distributed.Client.get_executor(pure=False)``, Parsl, ...), which
    runs :func:`jobman.backends.aer_chunk.run_chunk` for each chunk. ``clock`` and ``sleep``
    are injectable so that tests of retries and backoff never wait.
    """

    def __init__(self, store: Store | str | os.PathLike | None = None, *, executor: Any = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 poll_interval: float = 0.5) -> None:
        self.store = store if isinstance(store, Store) else Store(store)
        self.executor = executor
        self.clock = clock
        self.sleep = sleep
        self.poll_interval = poll_interval

    # creating -----------------------------------------------------------------------
    def run(self, circuits: Sequence[Any] | str | os.PathLike, backend: str | Backend = "aer", *,
            wait: bool = True, on_change: OnChange | None = None,
            on_created: OnStart | None = None, **task: Any) -> ManagedJobSet:
        """Run circuits (objects, or paths to QPY/QASM files or directories) as a new set.

        ``task`` holds the options of :meth:`create` (``shots``, ``seed``, ``chunk_size``,
        ``name``, ``memory``, ``max_in_flight``, ``max_retries``, ``on_failure``,
        ``max_usage``, ``noise_model``, ``backend_options``, ``transpile_options``,
        ``notify_command``, ``executor``). With ``wait=True`` (the default) this returns when the set is final;
        with ``wait=False`` it returns once the set exists (bad input raises at once) and a
        background thread runs it: follow it with the handle's ``status()``,
        ``wait_for_final_state()``, ``result()`` or ``cancel()``.

        ``circuits`` may also be SamplerV2-style PUBs (a circuit, ``(circuit, values)`` or
        ``(circuit, values, shots)``), or paths with ``parameters=`` a ``.npy``/``.npz`` file of
        values: a sweep, whose points are the set's items (see :mod:`jobman.sweep`).

        Circuits that cannot run (no measurements, unbound parameters, too wide for the backend)
        end in ERROR with the reason; the others run. With ``max_usage`` (seconds of QPU time,
        or of simulation on Aer) submitting stops before the usage recorded plus the estimate of
        the jobs in flight would pass it; the rest stays PENDING for :meth:`resume`. Raises
        :class:`~jobman.exceptions.Interrupted` on Ctrl-C (the set can be resumed).

        With ``backend="aer"``: ``noise_model`` (a fake device name such as ``"fake_manila"``,
        or a qiskit-aer ``NoiseModel``) and ``backend_options`` (Aer options, e.g.
        ``{"method": "density_matrix"}``). With ``fake_*``/``ibm_*``: ``transpile_options`` for
        ``generate_preset_pass_manager`` (e.g. ``{"scheduling_method": "alap"}``). All are
        recorded in the set, and resume and retry run with exactly them. ``executor`` overrides
        the manager's (see :class:`JobManager`; the manager's applies to Aer only). With
        ``fake_*``/``ibm_*``, ``executor="ray"`` transpiles the chunks as Ray tasks (on the cluster
        ``RAY_ADDRESS`` names; elsewhere: ``backend=get_backend("fake_manila", executor="ray",
        ray_address=...)``) and submits them from here.
        """
        source, set_store, backend_obj = self._new_set(circuits, backend, **task)
        held = _hold_or_close(set_store, (source, backend_obj))

        def drive() -> ManagedJobSet:
            if on_created is not None:
                on_created(self._handle(set_store))
            return self._drive(set_store, source, backend_obj, _unfinished, on_change)

        return self._launch(set_store, held, drive, wait, (source, backend_obj))

    def create(self, circuits: Sequence[Any] | str | os.PathLike, backend: str | Backend = "aer",
               **task: Any) -> "tuple[ManagedJobSet, IO[str]]":
        """Create a set and take its lock without running it: for launchers that hand the lock
        to the process that runs it (``jobman run --detach``). Closing the lock file releases it.

        Options: ``shots`` (1024), ``seed``, ``chunk_size``, ``name``, ``memory``,
        ``max_in_flight``, ``max_retries`` (3), ``on_failure`` ("continue"), ``noise_model``,
        ``backend_options``, ``transpile_options``, ``executor`` (see :meth:`run`),
        ``notify_command`` (a shell command run when the set's run ends, recorded so that resume
        and retry run it), ``tags`` (labels, ``{"KEY": "VALUE"}``, for :meth:`list_sets`-style
        filtering).
        """
        source, set_store, backend_obj = self._new_set(circuits, backend, **task)
        with _closing(source, backend_obj):
            return self._handle(set_store), _hold_or_close(set_store, ())

    def _new_set(self, circuits: Any, backend: str | Backend, *, shots: int = 1024,
                 seed: int | None = None, chunk_size: int | None = None, name: str | None = None,
                 memory: bool = False, max_in_flight: int | None = None, max_retries: int = 3,
                 on_failure: str = "continue", max_usage: float | None = None, noise_model: Any = None,
                 backend_options: dict[str, Any] | None = None,
                 transpile_options: dict[str, Any] | None = None, notify_command: str | None = None,
                 tags: dict[str, str] | None = None, executor: Any = None,
                 parameters: str | os.PathLike | None = None,
                 observables: str | os.PathLike | None = None, precision: float = 0.0
                 ) -> tuple["CircuitSource", SetStore, Backend]:
        """Check the options, open the inputs and the backend, and write the new set."""
        _check_options(shots, seed, on_failure, max_in_flight, max_retries)
        _check_max_usage(max_usage)
        if notify_command is not None and not str(notify_command).strip():
            raise UsageError("--notify-command must not be empty")
        tags = _check_tags(tags)
        seed = pick_seed() if seed is None else seed  # recorded, so any set can be repeated exactly
        if executor is None and backend == "aer":
            executor = self.executor
        backend_obj = _backend(backend, noise_model, backend_options, transpile_options, executor)
        set_id = new_set_id()
        if not backend_obj.elastic_in_flight:  # the effective value (a cluster's changes: None)
            max_in_flight = max_in_flight or backend_obj.default_max_in_flight
        engine_options = EngineOptions(max_in_flight=max_in_flight, max_retries=max_retries,
                                       on_failure=on_failure, max_usage=max_usage)
        try:
            source, set_store = self._create(circuits, backend_obj, set_id, engine_options, shots,
                                             seed, chunk_size, name, memory, notify_command, tags,
                                             parameters, (observables, precision))
        except BaseException:
            self.store.discard_staging(set_id)
            backend_obj.close()
            raise
        return source, set_store, backend_obj

    def dry_run(self, circuits: Sequence[Any] | str | os.PathLike, backend: str | Backend = "aer", *,
                shots: int = 1024, seed: int | None = None, chunk_size: int | None = None,
                memory: bool = False, parameters: str | os.PathLike | None = None,
                observables: str | os.PathLike | None = None, precision: float = 0.0) -> "DryRun":
        """Plan a task as :meth:`run` would, without submitting anything or creating a set:
        chunks, executions and upload size per job, a prepared sample and the estimated QPU
        time (a sweep's sample: points bound; an estimator task's executions: the shots its
        precision takes). Bad input raises what :meth:`run` raises."""
        import tempfile

        from jobman.dryrun import plan_dry_run

        _check_options(shots, seed, "continue", None, 0)
        backend_obj = backend if isinstance(backend, Backend) else get_backend(backend)
        try:
            with tempfile.TemporaryDirectory(prefix="jobman-dry-") as scratch:
                circuits, pub_values, estimates = _task_pubs(circuits, shots, parameters,
                                                             (observables, precision), backend_obj)
                source, inputs = self._open_inputs(circuits, "dry-run", Path(scratch))
                if pub_values is not None or parameters is not None or observables is not None:
                    source, _ = _plan_sweep(source, pub_values, parameters, Path(scratch), estimates,
                                            (observables, precision))
                with source:
                    return plan_dry_run(source, backend_obj, RunOptions(shots=shots, seed=seed,
                                        memory=memory), chunk_size, inputs)
        finally:
            backend_obj.close()

    def _create(self, circuits: Any, backend: Backend, set_id: str, engine_options: EngineOptions,
                shots: int, seed: int | None, chunk_size: int | None, name: str | None, memory: bool,
                notify_command: str | None = None, tags: dict[str, str] | None = None,
                parameters: str | os.PathLike | None = None,
                observed: tuple[Any, float] = (None, 0.0)) -> tuple["CircuitSource", SetStore]:
        """Open the inputs, plan the chunks and write the new set (it appears whole or not).
        ``observed``: the ``--observables`` file and precision of an estimator task."""
        circuits, pub_values, estimates = _task_pubs(circuits, shots, parameters, observed, backend)
        source, inputs = self._open_inputs(circuits, set_id)
        sweep = None
        if pub_values is not None or parameters is not None or observed[0] is not None:
            source, sweep = _plan_sweep(source, pub_values, parameters,
                                        self.store.staging_folder(set_id), estimates, observed)
            if "observables" in sweep and not backend.exact_estimates:
                sweep["sampled"] = True  # its evs carry the backend's own noise: none is added when read
        options = RunOptions(shots=shots, seed=seed, memory=memory)
        size = chunk_size_for(len(source), shots, backend.limits(), chunk_size,
                              payload_per_circuit(source, backend))
        ranges = plan_chunks(len(source), size)
        described, attached = backend_record(backend)
        _write_staged(self.store.staging_folder(set_id), attached)
        record = SetRecord(id=set_id, name=name or _default_name(inputs), created=time.time(),
                           inputs=inputs, backend=described, options=options.to_dict(),
                           total=len(source), chunk_size=size, num_chunks=len(ranges),
                           tags=dict(tags or {}), sweep=sweep)  # its format: see Store.create_set
        record.set_engine_options(engine_options)
        if notify_command is not None:
            record.options[NOTIFY_OPTION] = str(notify_command)
        chunks = [ChunkRecord(index=i, start=a, stop=b) for i, (a, b) in enumerate(ranges)]
        set_store = self.store.create_set(record, chunks, names=source.plan_names)  # known before they run
        if any(f.get("embedded") for f in inputs) or sweep:  # the staging folder was renamed
            source.close()
            source = task_source(set_store, verify=False)
        return source, set_store

    def _open_inputs(self, circuits: Any, set_id: str, folder: Path | None = None
                     ) -> tuple["CircuitSource", list[dict[str, Any]]]:
        from jobman.inputs import open_source

        if isinstance(circuits, (str, os.PathLike)):
            circuits = [circuits]
        items = list(circuits)
        if not items:
            raise UsageError("no circuits given")
        if all(isinstance(item, (str, os.PathLike)) for item in items):
            staging = folder or self.store.staging_folder(set_id)  # a dry run: a scratch folder
            source = open_source(items, spool=staging / STREAM_INPUTS)
            return source, [_input_record(f, staging) for f in source.files]
        from qiskit import QuantumCircuit

        from jobman.qpy_codec import dumps, faithful

        strangers = [item for item in items if not isinstance(item, QuantumCircuit)]
        if strangers:
            raise UsageError("give input paths or QuantumCircuit objects, not "
                             f"{type(strangers[0]).__name__}")
        data = dumps(faithful(items))  # what QPY cannot hold fails alone, never runs changed
        path = (folder or self.store.staging_folder(set_id)) / EMBEDDED_INPUT
        try:  # the staging folder appears as the set only when whole (Store.create_set)
            make_folder(path.parent)
            with open(path, "wb", opener=_private_opener) as handle:
                handle.write(data)
        except OSError as error:
            raise StoreError(f"cannot write circuits to {path}: {error.strerror or error}") from None
        source = open_source([path])
        inputs = [dict(f.to_dict(), path=EMBEDDED_INPUT, embedded=True) for f in source.files]
        return source, inputs

    def adopt(self, found: Sequence[Any], backend: Backend, *, name: str | None = None,
              source_note: dict[str, Any] | None = None, on_change: OnChange | None = None,
              on_created: Callable[[ManagedJobSet], None] | None = None) -> ManagedJobSet:
        """Make a set of jobs already submitted elsewhere (:class:`~jobman.backends.ibm_adopt.FoundJob`
        with their circuits), one chunk per job, and follow them to the end like jobman's own.

        Jobs on another backend or with other shots than the first, or whose circuits could not
        be read, are left out and listed in the set's ``options["adopted"]["skipped"]``."""
        usable, skipped = _adoptable(found, backend.name)
        if not usable:
            why = "; ".join(f"{job.job_id}: {job.problem}" for job in skipped[:5]) or "no jobs found"
            raise UsageError(f"nothing to adopt ({why})")
        set_id = new_set_id()
        try:
            source, set_store = self._create_adopted(usable, skipped, backend, set_id, name, source_note)
        except BaseException:
            self.store.discard_staging(set_id)
            backend.close()
            raise
        with _closing(source, backend), _resumable(set_store.id), set_store.lock():
            if on_created is not None:
                on_created(ManagedJobSet(set_store))
            return self._drive(set_store, source, backend, _unfinished, on_change)

    def _create_adopted(self, usable: list[Any], skipped: list[Any], backend: Backend, set_id: str,
                        name: str | None, note: dict[str, Any] | None) -> tuple["CircuitSource", SetStore]:
        from jobman.inputs import open_source

        source, inputs = self._open_inputs([c for job in usable for c in job.circuits], set_id)
        chunks, start = [], 0
        for index, job in enumerate(usable):
            stop = start + len(job.circuits)
            attempt = Attempt(number=1, runs=[[start, stop]], job_id=job.job_id, submitted=job.created,
                              status=JobStatus.QUEUED.value, session_id=job.session_id or None, adopted=True)
            chunks.append(ChunkRecord(index=index, start=start, stop=stop, status=JobStatus.QUEUED.value,
                                      attempts=[attempt]))
            start = stop
        options = RunOptions(shots=usable[0].shots).to_dict()
        options["engine"] = EngineOptions().to_dict()  # the defaults: what an adopted set's runs use
        options["adopted"] = dict(note or {}, jobs=len(usable), skipped=[
            {"job_id": job.job_id, "reason": job.problem} for job in skipped])
        record = SetRecord(id=set_id, name=name or f"adopted-{set_id}", created=time.time(), inputs=inputs,
                           backend=backend.describe(), options=options, total=len(source),
                           chunk_size=max(c.size for c in chunks), num_chunks=len(chunks))
        set_store = self.store.create_set(record, chunks)
        source.close()
        return open_source([set_store.paths.folder / EMBEDDED_INPUT]), set_store

    # continuing ---------------------------------------------------------------------
    def resume(self, set_id: str | None = None, backend: Backend | None = None,
               on_change: OnChange | None = None, on_failure: str | None = None,
               on_start: OnStart | None = None, max_usage: float | None = None, *,
               wait: bool = True, held_lock: "IO[str] | int | None" = None, executor: Any = None,
               **executor_options: Any) -> ManagedJobSet:
        """Carry on with a set whose process stopped (kill, crash, Ctrl-C, power loss, or the
        usage budget).

        Circuits with a result are not run again; jobs of a re-attachable backend are followed
        again by their recorded id (or found by their tags); other unfinished work is resubmitted,
        and so are circuits whose stored results are missing or unreadable (see `jobman check`).
        ``on_failure`` overrides the set's ``--on-failure`` policy for this run; ``on_start`` is
        called once the set is locked and its inputs and backend are open, before any work;
        ``max_usage`` replaces the set's budget (seconds, counted over the whole set, earlier
        runs included). ``wait=False`` returns at once and runs it in a background thread (see
        :meth:`run`); ``held_lock`` is the set's lock taken by :meth:`hold` (maybe in the parent).
        ``executor`` (and ``ray_address=...``, ``ray_num_cpus=...``) overrides the recorded
        executor, e.g. ``"local"`` when the cluster the set ran on is gone.
        """
        from jobman.check import plan_resume

        _check_max_usage(max_usage)
        check_on_failure(on_failure)
        set_store, held = self.hold(set_id, held_lock=held_lock)
        if max_usage is not None:
            try:
                record = set_store.record
                record.set_engine_options(replace(record.engine_options(), max_usage=max_usage))
                set_store.save_record()
            except BaseException:
                held.close()
                raise
        return self._launch(set_store, held, lambda: self._continue(
            set_store, backend, plan_resume, on_change, on_failure, on_start,
            (executor, executor_options)), wait)

    def retry(self, set_id: str | None = None, indices: Iterable[int] | None = None,
              backend: Backend | None = None, on_change: OnChange | None = None,
              on_failure: str | None = None, on_start: OnStart | None = None, *,
              wait: bool = True, held_lock: "IO[str] | int | None" = None, executor: Any = None,
              **executor_options: Any) -> ManagedJobSet:
        """Resubmit the failed or cancelled circuits (all, or those in ``indices``) of a finished
        set; their new results replace the failures in the same set. ``on_failure`` overrides
        the set's policy (with ``abort``, a circuit that fails again cancels the rest again);
        the other arguments are those of :meth:`resume`."""
        check_on_failure(on_failure)
        wanted = None if indices is None else set(indices)
        set_store, held = self.hold(set_id, retry=True, indices=wanted, held_lock=held_lock)
        return self._launch(set_store, held, lambda: self._continue(
            set_store, backend, lambda e: (plan_retry(e.books, wanted), []), on_change, on_failure,
            on_start, (executor, executor_options)), wait)

    def hold(self, set_id: str | None = None, *, retry: bool = False,
             indices: "set[int] | None" = None, held_lock: "IO[str] | int | None" = None
             ) -> "tuple[SetStore, IO[str]]":
        """Open a set and take its lock (or take over ``held_lock``), checking that it can be
        retried when ``retry``. A cancel request left by a dead run is dropped. The caller
        drives the set, hands the lock to the process that will (``--detach``), or closes it."""
        set_store = self.store.open_set(set_id)
        if held_lock is not None:
            return set_store, set_store.take_over_lock(held_lock)
        held = set_store.acquire_lock()
        try:
            set_store.clear_cancel_request()  # only a live run acts on one
            if retry:
                _check_retry(set_store, indices)
        except BaseException:
            held.close()
            raise
        return set_store, held

    def _launch(self, set_store: SetStore, held: "IO[str]", drive: Callable[[], ManagedJobSet],
                wait: bool, resources: Sequence[Any] = ()) -> ManagedJobSet:
        """Drive the set under the ``held`` lock, here (``wait``) or in a background thread."""
        def work() -> ManagedJobSet:
            return self._drive_held(set_store, held, drive, resources)

        return work() if wait else self._handle(set_store)._start(work)

    def _drive_held(self, set_store: SetStore, held: "IO[str]", drive: Callable[[], ManagedJobSet],
                    resources: Sequence[Any]) -> ManagedJobSet:
        """``drive()`` under the lock; then, with the lock released, the set's notify command."""
        code = 1
        try:
            with _closing(*resources), _resumable(set_store.id), set_store.lock(held):
                job_set = drive()
            code = exit_code(job_set.outcome())
            return job_set
        except JobmanError as error:
            code = error.exit_code
            raise
        finally:
            notify(set_store, code)

    def _continue(self, set_store: SetStore, backend: Backend | None, plan: Plan,
                  on_change: OnChange | None, on_failure: str | None = None,
                  on_start: OnStart | None = None,
                  executor: tuple[Any, dict[str, Any]] = (None, {})) -> ManagedJobSet:
        """Reopen the set's inputs and backend (under its lock) and drive it."""
        chosen, executor_options = executor
        if chosen is None and backend is None and set_store.record.backend.get("name") == "aer":
            chosen = self.executor
        if backend is not None and (chosen is not None or executor_options):
            raise UsageError("give an executor or a Backend object, not both")
        source = task_source(set_store)
        try:
            set_store.fill_names(source.plan_names)  # a set from before names were written at creation
            backend_obj = backend or _restore_backend(set_store, chosen, executor_options)
        except BaseException:
            source.close()
            raise
        with _closing(source, backend_obj):
            if on_start is not None:
                on_start(self._handle(set_store))
            return self._drive(set_store, source, backend_obj, plan, on_change, on_failure)

    def _drive(self, set_store: SetStore, source: "CircuitSource", backend: Backend, plan: Plan,
               on_change: OnChange | None, on_failure: str | None = None) -> ManagedJobSet:
        """Plan and run the set's work; the caller holds the lock and closes source and backend."""
        backend.connect()  # a cluster that is gone stops the run here, with nothing changed
        engine = Engine(set_store, source, backend, RunOptions.from_dict(set_store.record.options),
                        self._config(set_store, on_failure), on_change, self.clock)
        try:
            work, attached = plan(engine)
            engine.run(work, attached)
            backend.close()  # close the batch or session now, so that the set records it closed
            engine.save_sessions()
            if engine.budget_stop != set_store.record.stopped:
                set_store.record.stopped = engine.budget_stop
                set_store.save_record()
        except StoreError as error:
            raise StoreError(f"{error}; when the store is writable again, run "
                             f"`jobman resume {set_store.id}`") from None
        return ManagedJobSet(set_store, engine, self)._ended(summarize(set_store, running=False))

    def _handle(self, set_store: SetStore) -> ManagedJobSet:
        return ManagedJobSet(set_store, manager=self)

    def _config(self, set_store: SetStore, on_failure: str | None = None) -> EngineConfig:
        recorded = set_store.record.engine_options()
        return EngineConfig(max_in_flight=recorded.max_in_flight, poll_interval=self.poll_interval,
                            on_failure=on_failure or recorded.on_failure, max_usage=recorded.max_usage,
                            retry=RetryPolicy(max_retries=recorded.max_retries, sleep=self.sleep))

    # reading and cancelling -----------------------------------------------------------
    def job_set(self, set_id: str | None = None) -> ManagedJobSet:
        """An existing set by id, prefix or name (the newest when None)."""
        return self._handle(self.store.open_set(set_id))

    def job_sets(self, status: "str | Iterable[str] | None" = None, name: str | None = None,
                 limit: int | None = None) -> list[ManagedJobSet]:
        """Sets in the store, newest first, filtered as ``jobman list`` does: by lifecycle
        state(s) (``"DONE"``, ``["RUNNING", "PENDING"]``), by name (a shell pattern like
        ``"bell*"``, else a substring) and at most ``limit`` of them."""
        from jobman.selection import check_states, select_sets

        states = check_states([status] if isinstance(status, str) else status)
        return [self._handle(set_store)
                for set_store, _ in select_sets(self.store, states, name, limit)]

    def delete(self, set_id: str) -> None:
        """Delete a set and its results; refused (SetLockedError) while a process runs it."""
        set_store = self.store.open_set(set_id)
        self.store.delete_set(set_store.id)  # under the set's own lock: no run can start on it

    def cancel(self, set_id: str | None = None, wait: float = 0.0,
               backend: Backend | None = None) -> ManagedJobSet:
        """Stop a set: pending submissions are dropped and queued or running jobs cancelled.

        If a process is running the set, ask it to cancel (it notices within a poll interval)
        and wait up to ``wait`` seconds for it to finish; otherwise cancel the unfinished
        chunks now. Circuits that finished keep their results.
        """
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < math.inf:
            raise UsageError(f"wait must be a finite number of seconds, 0 or more, not {wait!r}")
        set_store = self.store.open_set(set_id)
        deadline = self.clock() + wait
        requested = False
        while True:
            try:
                with set_store.lock():
                    set_store.clear_cancel_request()
                    self._cancel_offline(set_store, backend)
                return self._handle(set_store)
            except SetLockedError:
                if not requested:
                    set_store.request_cancel()
                    requested = True
                if self.clock() >= deadline:
                    return self._handle(set_store)
                self.sleep(min(0.1, max(0.0, deadline - self.clock())))

    def _cancel_offline(self, set_store: SetStore, backend: Backend | None) -> None:
        chunks = set_store.chunks()
        unfinished = [c for c in chunks if not c.job_status.is_final]
        if not unfinished:
            return
        live_jobs = any(a is not None and a.job_id and not a.is_final
                        for a in (c.last_attempt() for c in unfinished))
        backend_obj = backend or (_restore_backend(set_store) if live_jobs else None)
        try:
            books = Bookkeeping(set_store, self.clock)
            calls = None if backend_obj is None else BackendCalls(backend_obj, self._config(set_store).retry)
            cancel_unfinished(books, calls)
        finally:
            if backend is None and backend_obj is not None:
                backend_obj.close()


def _unfinished(engine: Engine) -> "tuple[list[WorkItem], list[Flight]]":
    """The plan of a new set, and of a set picked up again: :func:`plan_unfinished`."""
    return plan_unfinished(engine.books, engine.calls, engine.submitter.names)


@contextmanager
def _closing(*resources: Any) -> Iterator[None]:
    """Close the inputs and the backend at the end, whatever happens."""
    try:
        yield
    finally:
        for resource in resources:
            resource.close()


def _hold_or_close(set_store: SetStore, resources: Sequence[Any]) -> "IO[str]":
    """The new set's lock; if it cannot be taken, ``resources`` are closed."""
    try:
        return set_store.acquire_lock()
    except BaseException:
        for resource in resources:
            resource.close()
        raise


def check_on_failure(on_failure: str | None) -> None:
    """A usage error unless ``on_failure`` is None or one of :data:`ON_FAILURE_CHOICES`."""
    if on_failure is not None and on_failure not in ON_FAILURE_CHOICES:
        raise UsageError(f"--on-failure must be one of {', '.join(ON_FAILURE_CHOICES)}, "
                         f"not {on_failure!r}")


def _check_retry(set_store: SetStore, wanted: "set[int] | None") -> None:
    """A set can be retried when it is finished and (some of) the wanted circuits failed."""
    chunks = set_store.chunks()
    if any(not c.job_status.is_final for c in chunks):
        raise UsageError(f"job set {set_store.id} is not finished; "
                         f"run `jobman resume {set_store.id}` first")
    if wanted is not None and not any(start <= i < stop for c in chunks
                                      for start, stop, *_ in c.failed for i in wanted):
        raise UsageError(f"none of the given circuits failed or was cancelled in job set "
                         f"{set_store.id}; nothing to retry")


def _check_tags(tags: Any) -> dict[str, str]:
    """Tags as given from Python or the CLI: string keys (without ``=``) and string values."""
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in tags.items()):
        raise UsageError("tags must be a dict of strings, e.g. {'project': 'qv'}")
    bad = [k for k in tags if not k.strip() or "=" in k]
    if bad:
        raise UsageError(f"invalid tag key {bad[0]!r}: a key is not empty and holds no '='")
    return dict(tags)


@contextmanager
def _resumable(set_id: str) -> Iterator[None]:
    """Ctrl-C (or SIGTERM/SIGHUP) anywhere while a set is being driven ends as Interrupted,
    saying how to resume."""
    try:
        yield
    except KeyboardInterrupt as error:  # Ctrl-C, SIGTERM, SIGHUP (see jobman.signals)
        raise Interrupted.resumable(set_id, error) from None


def _input_record(file: Any, staging: Path) -> dict[str, Any]:
    """What the set records about an input file: a stream's copy is a path inside the set."""
    record = file.to_dict()
    if file.given is not None:
        record.update(path=Path(file.path).relative_to(staging).as_posix(), embedded=True)
    return record


def task_source(set_store: SetStore, *, verify: bool = True) -> Any:
    """The set's task reopened: its circuits (a :class:`~jobman.inputs.CircuitSource`) or, for a
    sweep, its points (a :class:`~jobman.sweep.SweepSource`); with ``verify``, an InputError if
    an input file or the values changed since the set was created."""
    from jobman.inputs import reopen_source

    source = reopen_source(recorded_files(set_store), verify=verify)
    if set_store.record.sweep is None:
        return source
    from jobman.sweep import open_sweep

    try:
        return open_sweep(source, set_store.record.sweep, set_store.paths.folder, verify=verify)
    except BaseException:
        source.close()
        raise


def _split_pubs(circuits: Any, shots: int, parameters: Any) -> tuple[Any, Any]:
    """(circuits, values per PUB) of SamplerV2-style PUBs; (circuits, None) for anything else."""
    if isinstance(circuits, (str, os.PathLike)):
        return circuits, None
    from jobman.sweep_input import coerce_pubs, is_pub_list

    items = list(circuits)
    if not is_pub_list(items):
        return items, None
    if parameters is not None:
        raise UsageError("parameters: give values in the PUBs or in a file, not both")
    return coerce_pubs(items, shots)


def _check_estimates(backend: Backend, precisions: list[float]) -> None:
    """Refuse an estimator task that the backend cannot run as given."""
    if not backend.runs_estimates:
        raise UsageError(f"backend {backend.name} does not compute expectation values (aer and fake and IBM "
                         "devices do); on other backends jobman.Estimator(backend=..., by_measurement=True) "
                         "estimates them by measurement")
    if not backend.exact_estimates and any(p <= 0 for p in precisions):
        raise UsageError(f"backend {backend.name} estimates expectation values by sampling: give a precision "
                         "above 0 (--precision P; qiskit-ibm-runtime's default is 0.015625), not 0 (exact, "
                         "on aer only)")


def _task_pubs(circuits: Any, shots: int, parameters: Any, observed: tuple[Any, float], backend: Backend
               ) -> tuple[Any, Any, Any]:
    """(circuits, values per PUB, observables per PUB) of ``EstimatorPub`` objects;
    (circuits, values, None) of SamplerV2-style PUBs; (circuits, None, None) for anything else.
    ``observed``: the ``--observables`` file (or None) and its precision. An estimator task the
    backend cannot run as given is refused (:func:`_check_estimates`)."""
    observables, precision = observed
    if not isinstance(circuits, (str, os.PathLike)):
        from jobman.estimator_input import coerce_estimator_pubs, is_estimator_list

        items = list(circuits)
        if is_estimator_list(items):
            if parameters is not None or observables is not None:
                raise UsageError("parameters, observables: give them in the PUBs or in files, not both")
            found = coerce_estimator_pubs(items)
            _check_estimates(backend, [e.precision for e in found[2]])
            return found
        circuits = items
    split = _split_pubs(circuits, shots, parameters)
    if observables is not None:
        _check_estimates(backend, [precision])
    return (*split, None)

def _plan_sweep(source: Any, pub_values: Any, parameters: Any, staging: Path, estimates: Any = None,
                observed: tuple[Any, float] = (None, 0.0)) -> tuple[Any, dict[str, Any]]:
    """The sweep over ``source``: the PUBs' values, or those of the ``parameters`` file (one
    point per circuit without it); with observables (``estimates``, or the ``observed`` file and
    precision), an estimator task."""
    import numpy as np

    from jobman.sweep_input import check_entries, plan_sweep, values_for_files

    try:
        if pub_values is not None:
            entries = list(enumerate(pub_values))
        elif parameters is not None:
            entries = values_for_files(source, parameters)
            check_entries(source, entries, f"--parameters {parameters}")
        else:
            entries = [(index, np.zeros((0,))) for index in range(len(source))]
        if observed[0] is not None:
            from jobman.estimator_input import observables_for_files

            estimates = observables_for_files(source, observed[0], entries, observed[1])
        return plan_sweep(source, entries, staging, estimates)
    except BaseException:
        source.close()
        raise


def recorded_files(set_store: SetStore) -> list[Any]:
    """The set's input files, those kept inside the set found in its folder."""
    from jobman.inputs import InputFile

    return [InputFile.from_dict(dict(f, path=str(set_store.paths.folder / f["path"]))
                                if f.get("embedded") else f) for f in set_store.record.inputs]


#: The library's names of backend options -> the run options plug-ins declare (their ``flags``).
LIBRARY_FLAGS = {"noise_model": "noise_model", "backend_options": "backend_option",
                 "transpile_options": "transpile_option"}


def _backend(backend: str | Backend, noise_model: Any, backend_options: dict[str, Any] | None,
             transpile_options: dict[str, Any] | None, executor: Any = None) -> Backend:
    """The backend to run on, built by name (by the plug-in that serves it) with the options
    meant for it."""
    given = {"noise_model": noise_model, "backend_options": backend_options,
             "transpile_options": transpile_options, "executor": executor not in (None, "local")}
    if isinstance(backend, Backend):
        named = [key for key, value in given.items() if value]
        if named:
            raise UsageError(f"{', '.join(named)}: give them to the backend object, or name the backend")
        return backend
    from jobman.backends.plugins import plugin_for, refused_text

    plugin = plugin_for(backend)
    flags = {LIBRARY_FLAGS[key]: value for key, value in given.items() if value and key != "executor"}
    wrong = [key for key, value in given.items() if value and LIBRARY_FLAGS.get(key, key) not in plugin.flags]
    if wrong:
        names = {LIBRARY_FLAGS.get(key, key): key for key in wrong}
        raise UsageError(refused_text(names, backend, plugin, label=names.get, terse=True))
    return plugin.build(backend, executor=executor, **plugin.options_from_flags(backend, flags))


def _restore_backend(set_store: SetStore, executor: Any = None,
                     executor_options: dict[str, Any] | None = None) -> Backend:
    """The set's backend with its recorded options; an Error when they cannot be restored (the
    set never runs with other options than it was created with). ``executor`` (and its options)
    may say where it runs instead."""
    if executor is not None or executor_options:
        return backend_from_record(set_store.record.backend, set_store.paths.folder, executor,
                                   **(executor_options or {}))
    try:
        return backend_from_record(set_store.record.backend, set_store.paths.folder)
    except UsageError as error:
        raise StoreError(f"job set {set_store.id} cannot run with the options it was created with: "
                         f"{error}") from None


def _write_staged(folder: Path, files: dict[str, bytes]) -> None:
    """Files that a new set keeps beside its record, written into its staging folder."""
    for name, data in files.items():
        path = folder / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as error:
            raise StoreError(f"cannot write {path}: {error.strerror or error}") from None


def pick_seed() -> int:
    """A seed for a run given none: random, below 2**31 (valid for Aer and the transpiler)."""
    import secrets

    return secrets.randbelow(2**31)


def _private_opener(path: str, flags: int) -> int:
    """Open a new file of the store 0600, never through a link."""
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o600)


def _check_options(shots: int, seed: int | None, on_failure: str, max_in_flight: int | None,
                   max_retries: int) -> None:
    if isinstance(shots, bool) or not isinstance(shots, int) or shots <= 0:
        raise UsageError(f"shots must be a positive integer, not {shots!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise UsageError(f"seed must be a non-negative integer up to {MAX_SEED} (a 64-bit seed, as the "
                         f"simulator and the transpiler take), not {seed!r}")
    if on_failure not in ON_FAILURE_CHOICES:
        raise UsageError(f"--on-failure must be one of {', '.join(ON_FAILURE_CHOICES)}, not {on_failure!r}")
    if max_in_flight is not None and max_in_flight <= 0:
        raise UsageError(f"--max-in-flight must be a positive integer, not {max_in_flight}")
    RetryPolicy(max_retries=max_retries)  # raises UsageError for a bad value


def _adoptable(found: Sequence[Any], backend_name: str) -> tuple[list[Any], list[Any]]:
    """The jobs a set can hold (same backend and shots as the first readable one), and the rest
    with the reason each is left out."""
    usable: list[Any] = []
    skipped: list[Any] = []
    for job in found:
        if job.problem is None and job.backend not in (None, backend_name):
            job.problem = f"ran on {job.backend}, not {backend_name}"
        elif job.problem is None and usable and job.shots != usable[0].shots:
            job.problem = f"{job.shots} shots, not {usable[0].shots} as the first job"
        elif job.problem is None and not job.circuits:
            job.problem = "no circuits"
        (skipped if job.problem else usable).append(job)
    return usable, skipped


def _check_max_usage(max_usage: float | None) -> None:
    if max_usage is not None and (isinstance(max_usage, bool) or not isinstance(max_usage, (int, float))
                                  or max_usage <= 0):
        raise UsageError(f"--max-usage must be a positive duration, not {max_usage!r}")


def _default_name(inputs: list[dict[str, Any]]) -> str:
    first = Path(inputs[0]["path"]).name if inputs else "circuits"
    return first if len(inputs) == 1 else f"{first}+{len(inputs) - 1}"
