"""IBM Quantum through qiskit-ibm-runtime: ``ibm_<device>`` on the account's service,
``fake_<device>`` on the same code path in the client's local testing mode (noisy Aer, offline).

Each chunk is one Sampler job (an EstimatorV2 job for an estimator task) in a ``Batch``
(default), a ``Session`` or job mode, tagged so
that it can be found again after a crash; a sweep's points go as PUB slices (each circuit once,
with its rows of values: :mod:`jobman.backends.ibm_pubs`). Circuits are transpiled to the device's ISA
(seeded, in parallel) unless they already are (``skip_transpile``). Credentials come from
qiskit-ibm-runtime's saved accounts or environment; jobman never stores a token.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any, Sequence

from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, RunOptions
from jobman.backends.ibm_errors import ErrorKind, classify, error_text, map_status
from jobman.backends.ibm_pubs import bound_circuit, circuit_of, is_estimate, job_pubs, pubs_payload_bytes
from jobman.backends.ibm_service import (DOCUMENTED_INPUT_LIMIT, MAX_EXECUTIONS, MAX_PAYLOAD_BYTES,
                                         connect, fake_backend, service_backend)
from jobman.backends.ibm_sessions import MODES, SessionKeeper
from jobman.backends import ibm_usage
from jobman.backends.sampler_adapter import SAMPLER_KINDS, make_estimator, make_sampler, outcomes
from jobman.exceptions import BackendError, UsageError
from jobman.status import JobStatus
from jobman.log import swallowed

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

    from jobman.backends.ray_transpile import RayTranspiler
    from jobman.backends.transpile import Transpiler

__all__ = ["IBMBackend", "MAX_EXECUTIONS", "MAX_PAYLOAD_BYTES", "MODES"]

#: Instructions every ISA circuit may hold besides the target's own.
ALWAYS_ALLOWED = frozenset({"barrier"})
#: Local jobs get seed ``seed + SEED_STRIDE * first circuit index`` (as Aer does).
SEED_STRIDE = 2113


class IBMBackend(Backend):
    """Runs chunks as Sampler jobs on an IBM Quantum device or a fake one."""

    default_max_in_flight = 3  # >= 2 keeps the next job queued while one runs (sessions)
    runs_sweeps = True  # a chunk's points of one PUB: one (isa_circuit, values) PUB
    runs_estimates = True  # an estimator task's jobs go to the runtime's EstimatorV2

    def __init__(self, name: str, *, mode: str = "batch", max_time: int | str | None = None,
                 optimization_level: int = 1, skip_transpile: bool = False, sampler: str = "v2",
                 account: str | None = None, instance: str | None = None, service: Any = None,
                 transpile_workers: int | None = None, transpile_options: dict[str, Any] | None = None,
                 max_payload: int | None = None, executor: str | None = None,
                 ray_address: str | None = None) -> None:
        _check_options(mode, optimization_level, sampler, max_time)
        self.executor, self.ray_address = _check_executor(executor, ray_address, skip_transpile)
        if max_payload is not None and not 0 < max_payload <= DOCUMENTED_INPUT_LIMIT:
            raise UsageError(f"--max-payload must be between 1 byte and the documented input limit "
                             f"of {DOCUMENTED_INPUT_LIMIT // 1_000_000} MB per job, not {max_payload}")
        self.max_payload = max_payload
        self.name = name
        self.mode_name, self.max_time = mode, max_time
        self.optimization_level, self.skip_transpile = optimization_level, skip_transpile
        self.sampler_kind = sampler
        self.account, self.instance = account, instance
        self.local = name.startswith("fake_")
        if self.local:
            from jobman.backends.aer import quiet_aer_logs

            quiet_aer_logs()  # a failed circuit's reason goes to its result, not raw to stderr
        self.reattachable = not self.local
        self.poll_interval = 0.2 if self.local else 2.0
        self._service = service if self.local or service is not None else connect(account, instance)
        self._device = fake_backend(name) if self.local else service_backend(self._service, name)
        self.transpile_options = self._check_transpile_options(transpile_options or {})
        self._keeper = SessionKeeper(mode, self._device, self._service, max_time, self.local)
        self._transpile_workers = transpile_workers
        self._transpiler: Transpiler | RayTranspiler | None = None
        self._shot_costs: tuple[float, float] | None = None
        self._jobs: dict[str, Any] = {}
        self._memory: dict[str, bool] = {}
        self._local_circuits: dict[str, list[Any]] = {}  # local job id -> its circuits
        self._seen: dict[str, tuple[float, JobStatus]] = {}  # job id -> (when asked, status)
        self._last_shot: tuple[Any, float | None] | None = None  # (circuit, its seconds per shot)
        self._lock = threading.Lock()

    # what the set records ------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        options = {"mode": self.mode_name, "max_time": self.max_time,
                   "optimization_level": self.optimization_level, "skip_transpile": self.skip_transpile,
                   "sampler": self.sampler_kind, "account": self.account, "instance": self.instance,
                   "max_payload": self.max_payload}
        if self.transpile_options:
            options["transpile_options"] = dict(self.transpile_options)
        if self.executor == "ray":  # where chunks are transpiled (the set's options: resume rebuilds it)
            options.update(executor="ray", **({"ray_address": self.ray_address} if self.ray_address else {}))
        return options

    def _check_transpile_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if not options:
            return {}
        from jobman.backends.transpile import check_options

        return check_options(self._device.target, self.optimization_level, options)

    def describe(self) -> dict[str, Any]:
        facts = dict(super().describe(), local=self.local)
        if not self.local:
            facts["instance_crn"] = _quietly(self._service.active_instance)
        return facts

    def limits(self) -> BackendLimits:
        return BackendLimits(max_executions=MAX_EXECUTIONS, num_qubits=self._device.num_qubits,
                             max_payload_bytes=None if self.local else self.payload_cap)

    @property
    def payload_cap(self) -> int:
        """Most bytes a job may upload: ``--max-payload``, else :data:`MAX_PAYLOAD_BYTES`."""
        return self.max_payload or MAX_PAYLOAD_BYTES

    # circuits -------------------------------------------------------------------------
    def validate(self, circuit: "QuantumCircuit") -> str | None:
        reason = super().validate(circuit)
        if reason or not self.skip_transpile:
            return reason
        from jobman.backends.transpile import isa_problem

        problem = isa_problem(circuit, self._device.target)
        if problem:
            return f"circuit is not ISA for {self.name} ({problem}); run without --skip-transpile"
        return None

    def prepare(self, circuits: list[Any], options: RunOptions) -> list[Any]:
        """Transpile to the device's ISA, seeded (``--seed``, else 0) so runs are reproducible;
        a sweep's circuit once for all its points (its parameters stay parameters).

        Circuits that already are ISA circuits of the device (transpiled by the user or by
        qiskit-experiments) run as they are: the device runs the very circuits it was given.
        """
        from jobman.sweep import share_prepared

        return share_prepared(circuits, lambda items: self._transpiled(items, options))

    def _transpiled(self, circuits: list["QuantumCircuit"], options: RunOptions) -> list["QuantumCircuit"]:
        if self.skip_transpile:
            return circuits
        from jobman.backends.transpile import isa_problem

        target = self._device.target
        todo = [i for i, circuit in enumerate(circuits) if isa_problem(circuit, target)]
        if not todo:
            return circuits
        seed = options.seed if options.seed is not None else 0
        prepared = list(circuits)
        for i, circuit in zip(todo, self._get_transpiler().run([circuits[i] for i in todo], seed)):
            prepared[i] = circuit
        return prepared

    @property
    def keep_prepared(self) -> bool:  # type: ignore[override]
        return not self.skip_transpile

    def estimate_payload(self, circuits: Sequence["QuantumCircuit"]) -> int | None:
        """Upload bytes of a job of these circuits, transpiled as they would be."""
        if self.local:
            return None
        return pubs_payload_bytes(job_pubs(self.prepare(list(circuits), RunOptions())))

    job_overhead_seconds = ibm_usage.JOB_OVERHEAD_SECONDS

    def upload_bytes(self, circuits: Sequence[Any]) -> int | None:
        """What a job of these prepared circuits uploads (a fake device: what IBM would get)."""
        return pubs_payload_bytes(job_pubs(circuits))

    def seconds_per_shot(self, circuit: Any) -> float | None:
        """IBM Quantum's baseline estimate for one shot (see :mod:`jobman.backends.ibm_usage`);
        a sweep's point costs what its circuit costs (worked out once for its run of points)."""
        circuit = circuit_of(circuit)
        last = self._last_shot
        if last is not None and last[0] is circuit:
            return last[1]
        if self._shot_costs is None:
            target = self._device.target
            self._shot_costs = (ibm_usage.rep_delay(self._device), ibm_usage.init_seconds(target))
        seconds = ibm_usage.seconds_per_shot(circuit, self._device.target, *self._shot_costs)
        self._last_shot = (circuit, seconds)
        return seconds

    def job_usage(self, job_id: str) -> dict[str, Any] | None:
        """The usage the service reports in the job's metrics (nothing in local testing mode)."""
        if self.local:
            return None
        try:
            return ibm_usage.reported_usage(self._job(job_id).metrics() or {})
        except Exception as error:
            raise self._translate("usage", error) from None

    def _get_transpiler(self) -> "Transpiler | RayTranspiler":
        if self._transpiler is None and self.executor == "ray":
            from jobman.backends.ray_transpile import RayTranspiler

            self._transpiler = RayTranspiler(self._device.target, self.optimization_level,
                                             self.transpile_options, address=self.ray_address)
        elif self._transpiler is None:
            from jobman.backends.transpile import Transpiler

            self._transpiler = Transpiler(self._device.target, self.optimization_level,
                                          self._transpile_workers, options=self.transpile_options)
        return self._transpiler

    def connect(self) -> None:
        """With ``--executor ray``: connect to the cluster that transpiles, before anything runs."""
        if self.executor == "ray":
            self._get_transpiler().connect()  # type: ignore[union-attr]

    # sessions -------------------------------------------------------------------------
    def before_submit(self) -> None:
        """Open the batch or session now, so that it is recorded before a job runs in it."""
        try:
            self._keeper.current()
        except Exception as error:
            raise self._translate("open session", error) from None

    def sessions(self) -> list[dict[str, Any]]:
        return [dict(record) for record in self._keeper.records]

    def restore_sessions(self, records: Sequence[dict[str, Any]]) -> None:
        self._keeper.restore(records)

    def job_details(self, job_id: str) -> dict[str, Any]:
        runtime_job = self._jobs.get(job_id)
        session_id = getattr(runtime_job, "session_id", None) if self._keeper.uses_sessions else None
        return {"session_id": session_id} if session_id else {}

    # jobs -----------------------------------------------------------------------------
    def submit(self, job: ChunkJob, circuits: Sequence["QuantumCircuit"], options: RunOptions) -> str:
        pubs = self._check_payload(circuits)
        try:
            runtime_job = self._run(job, circuits, pubs, options)
        except Exception as error:
            if self._kind(error) is not ErrorKind.SESSION_CLOSED:
                raise self._blame(self._translate("submit", error), circuits) from None
            self._keeper.roll_over()  # its max_time ran out: carry on in a new one
            try:
                runtime_job = self._run(job, circuits, pubs, options)
            except Exception as again:
                raise self._blame(self._translate("submit", again), circuits) from None
        job_id = runtime_job.job_id()
        self._check_session(runtime_job, job_id)
        with self._lock:
            self._jobs[job_id] = runtime_job
            self._memory[job_id] = options.memory
            if self.local:
                self._local_circuits[job_id] = list(circuits)
        return job_id

    def _check_session(self, runtime_job: Any, job_id: str) -> None:
        """Refuse a job meant for the open session or batch that reports another one (a client
        that drops ``mode=``, as 0.49's executor sampler did, runs it in job mode): it is
        cancelled, and its chunk fails with the reason instead of running outside the session."""
        expected = self._keeper.current_id() if self._keeper.uses_sessions else None
        if expected is None:
            return
        try:
            actual = runtime_job.session_id
        except Exception as error:
            raise self._translate("check session", error) from None
        if actual == expected:
            return
        _quietly(runtime_job.cancel)
        where = f"session {actual}" if actual else "no session (job mode)"
        refused = BackendError(f"job {job_id} was submitted for {self._keeper.mode} {expected} but "
                               f"reports {where}; it was cancelled. This qiskit-ibm-runtime may drop "
                               "the execution mode (jobman is tested with the releases its "
                               "pyproject.toml allows)", code=ErrorKind.PERMANENT.value)
        refused.job_id = job_id  # type: ignore[attr-defined]  # recorded: never adopted by its tags
        raise refused

    def _run(self, job: ChunkJob, circuits: Sequence[Any], pubs: list[tuple[Any, ...]] | None,
             options: RunOptions) -> Any:
        """Submit the job's PUBs (``pubs``: built already, or None to build them here)."""
        pubs = job_pubs(circuits) if pubs is None else pubs
        estimates = is_estimate(circuits)  # precision per PUB: the task's shots do not apply
        if estimates:
            primitive = make_estimator(self._keeper.current(), job.tags())
        else:
            primitive = make_sampler(self.sampler_kind, self._keeper.current(), job.tags())
        if self.local and options.seed is not None:
            primitive.options.simulator.seed_simulator = (options.seed + SEED_STRIDE * job.start) % 2**63
        return primitive.run(pubs) if estimates else primitive.run(pubs, shots=options.shots)

    def _check_payload(self, circuits: Sequence[Any]) -> list[tuple[Any, ...]] | None:
        """Refuse (as a job to split) an upload over :data:`MAX_PAYLOAD_BYTES`; the job's PUBs
        when it built them to measure (so they are not built twice), else None."""
        if self.local or len(circuits) < 2:
            return None
        pubs = job_pubs(circuits)
        size = pubs_payload_bytes(pubs)
        if size > self.payload_cap:
            raise BackendError(f"job of {len(circuits)} circuits would upload {size / 1e6:.1f} MB, over "
                               f"the {self.payload_cap / 1e6:g} MB jobman allows (--max-payload)",
                               code=ErrorKind.SPLIT.value)
        return pubs

    def _job(self, job_id: str) -> Any:
        runtime_job = self._jobs.get(job_id)
        if runtime_job is not None:
            return runtime_job
        if self.local:
            raise BackendError(f"unknown local job {job_id} (local jobs do not survive the process)",
                               code=ErrorKind.NOT_FOUND.value)
        try:
            runtime_job = self._service.job(job_id)
        except Exception as error:
            raise self._translate("find job", error) from None
        with self._lock:
            self._jobs[job_id] = runtime_job
        return runtime_job

    def status(self, job_id: str) -> JobStatus:
        """The job's status, asked of the service at most once per ``poll_interval`` per job
        (the engine may look more often; the service should not be asked that often)."""
        seen = self._seen.get(job_id)
        if seen is not None and time.monotonic() - seen[0] < self.poll_interval:
            return seen[1]
        runtime_job = self._job(job_id)
        try:
            status = map_status(runtime_job.status())
        except Exception as error:
            raise self._translate("status", error) from None
        self._seen[job_id] = (time.monotonic(), status)
        return status

    def result(self, job_id: str) -> list[CircuitOutcome]:
        runtime_job = self._job(job_id)
        try:
            result = runtime_job.result()
        except Exception as error:
            raise self._job_failure(runtime_job, error) from None
        with self._lock:
            self._jobs.pop(job_id, None)
            self._seen.pop(job_id, None)
            keep_memory = self._memory.pop(job_id, True)  # a re-attached job: keep what there is
            self._local_circuits.pop(job_id, None)
        return outcomes(result, memory=keep_memory)

    def job_error(self, job_id: str) -> BaseException | None:
        runtime_job = self._jobs.get(job_id)
        if runtime_job is None:
            return None
        try:
            runtime_job.result()
        except Exception as error:
            return self._job_failure(runtime_job, error)
        return None

    def _job_failure(self, runtime_job: Any, error: BaseException) -> BackendError:
        """A failed job's error; one that died with its session rolls the session over."""
        if self._kind(error) is ErrorKind.SESSION_CLOSED:
            self._keeper.roll_over(getattr(runtime_job, "session_id", None))
        circuits = self._local_circuits.get(_quietly(runtime_job.job_id), [])
        return self._blame(self._translate("job", error), circuits)

    def _blame(self, error: BackendError, circuits: Sequence["QuantumCircuit"]) -> BackendError:
        """A local job of one circuit that failed: the simulator's own reason, which the Sampler
        hides behind errors of its own (e.g. a broadcast error for Aer's "Insufficient memory")."""
        if not self.local or len(circuits) != 1 or self._kind(error) is not ErrorKind.CIRCUIT:
            return error
        reason = self._simulator_reason(bound_circuit(circuits[0]))
        if reason is None:
            return error
        return BackendError(f"{self.name} cannot run this circuit: {reason}", code=ErrorKind.CIRCUIT.value)

    def _simulator_reason(self, circuit: "QuantumCircuit") -> str | None:
        """Why the fake device's Aer simulator fails ``circuit``, or None when it runs it."""
        try:
            experiment = self._device.run(circuit, shots=1).result().results[0]
        except Exception as error:
            return " ".join(error_text(error).split()) or type(error).__name__
        return None if experiment.success else " ".join(str(experiment.status).split())

    def cancel(self, job_id: str) -> None:
        try:
            self._job(job_id).cancel()
        except Exception as error:  # already final (409) or gone: nothing left to cancel
            if self._kind(error) is ErrorKind.TRANSIENT:
                raise self._translate("cancel", error) from None

    def find_job(self, job: ChunkJob) -> str | None:
        if self.local:
            return None
        try:
            found = self._service.jobs(job_tags=job.tags(), limit=5)
        except Exception as error:
            raise self._translate("find job", error) from None
        if not found:
            return None
        with self._lock:
            self._jobs[found[0].job_id()] = found[0]
        return found[0].job_id()

    # errors ---------------------------------------------------------------------------
    def is_transient(self, error: BaseException) -> bool:
        return self._kind(error) in (ErrorKind.TRANSIENT, ErrorKind.SESSION_CLOSED)

    def wants_split(self, error: BaseException) -> bool:
        """Split jobs that were too big, and jobs failed by one of their circuits (bisection)."""
        return self._kind(error) in (ErrorKind.SPLIT, ErrorKind.CIRCUIT)

    def is_missing(self, error: BaseException) -> bool:
        return self._kind(error) is ErrorKind.NOT_FOUND

    def must_wait(self, error: BaseException) -> bool:
        return self._kind(error) is ErrorKind.PENDING_LIMIT

    @staticmethod
    def _kind(error: BaseException) -> ErrorKind:
        if isinstance(error, BackendError):
            try:
                return ErrorKind(error.code)
            except ValueError:
                return ErrorKind.TRANSIENT if error.transient else ErrorKind.PERMANENT
        return classify(error)

    def _translate(self, action: str, error: BaseException) -> BackendError:
        if isinstance(error, BackendError):
            return error
        kind = classify(error)
        if kind is ErrorKind.PERMANENT and self._blames_circuits(error):
            kind = ErrorKind.CIRCUIT
        text = " ".join(error_text(error).split()) or type(error).__name__
        return BackendError(f"{action} failed on {self.name}: {text}",
                            transient=kind in (ErrorKind.TRANSIENT, ErrorKind.SESSION_CLOSED),
                            code=kind.value)

    def _blames_circuits(self, error: BaseException) -> bool:
        """Whether a permanent error may come from one circuit of the job: any failure of a
        local simulation, or the client's own validation of the circuits (nothing ran)."""
        if self.local:
            return True
        item: BaseException | None = error
        for _ in range(10):
            if item is None:
                return False
            if type(item).__name__ == "IBMInputValueError":
                return True
            item = item.__cause__ or item.__context__
        return False

    def close(self) -> None:
        self._keeper.close()
        if self._transpiler is not None:
            self._transpiler.close()


def _check_options(mode: str, optimization_level: int, sampler: str, max_time: Any = None) -> None:
    if isinstance(max_time, bool) or (isinstance(max_time, (int, float))
                                      and not (math.isfinite(max_time) and max_time >= 1)):
        raise UsageError(f"--max-time must be a finite number of seconds, at least 1, not {max_time!r}")
    if mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    if optimization_level not in (0, 1, 2, 3):
        raise UsageError(f"--optimization-level must be 0-3, not {optimization_level}")
    if sampler not in SAMPLER_KINDS:
        raise UsageError(f"--sampler must be one of {', '.join(SAMPLER_KINDS)}, not {sampler!r}")


def _check_executor(executor: str | None, ray_address: str | None,
                    skip_transpile: bool) -> tuple[str | None, str | None]:
    """``("ray", address)`` when chunks are transpiled on a Ray cluster, ``(None, None)`` here."""
    if executor not in (None, "local", "ray"):
        raise UsageError(f"--executor must be local or ray, not {executor!r}")
    if executor != "ray":
        if ray_address is not None:
            raise UsageError("--ray-address: only with --executor ray")
        return None, None
    if skip_transpile:
        raise UsageError("--executor ray transpiles chunks on the cluster: not with --skip-transpile")
    return "ray", ray_address


def _quietly(fn: Any) -> Any:
    try:
        return fn()
    except Exception as error:
        swallowed(getattr(fn, "__qualname__", "a best-effort call"), error)
        return None
