"""IBM Quantum through qiskit-ibm-runtime: ``ibm_<device>`` on the service, ``fake_<device>``
in its local testing mode (noisy Aer, offline).

Credentials come from qiskit-ibm-runtime's own saved accounts or environment; jobman never
stores a token. Circuits are transpiled to the device's ISA before submission.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Sequence

from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, RunOptions
from jobman.backends.ibm_errors import ErrorKind, classify, map_status
from jobman.backends.sampler_adapter import make_sampler, outcomes
from jobman.exceptions import BackendError, UsageError
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

#: Executions (circuits x shots) one Sampler job may hold.
MAX_EXECUTIONS = 10_000_000
#: Execution modes: ``--mode``.
MODES = ("batch", "session", "job")


def fake_backend(name: str) -> Any:
    """The fake device called ``name`` (``fake_manila``), or UsageError listing what exists."""
    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backends = {b.name: b for b in FakeProviderForBackendV2().backends()}
    if name not in backends:
        raise UsageError(f"unknown fake backend {name!r}; run `jobman backends` to see them")
    return backends[name]


class IBMBackend(Backend):
    """Runs chunks as Sampler jobs in a Batch, a Session or job mode."""

    default_max_in_flight = 3
    poll_interval = 2.0

    def __init__(self, name: str, *, mode: str = "batch", max_time: int | str | None = None,
                 optimization_level: int = 1, skip_transpile: bool = False, sampler: str = "v2",
                 account: str | None = None, instance: str | None = None, service: Any = None) -> None:
        if mode not in MODES:
            raise UsageError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
        if optimization_level not in (0, 1, 2, 3):
            raise UsageError(f"--optimization-level must be 0-3, not {optimization_level}")
        self.name = name
        self.mode_name = mode
        self.max_time = max_time
        self.optimization_level = optimization_level
        self.skip_transpile = skip_transpile
        self.sampler_kind = sampler
        self.local = name.startswith("fake_")
        self.reattachable = not self.local
        self.poll_interval = 0.2 if self.local else 2.0
        self._service = service
        self._account, self._instance = account, instance
        self._device = fake_backend(name) if self.local else self._service_backend(name)
        self._mode: Any = None
        self._jobs: dict[str, Any] = {}
        self._memory: dict[str, bool] = {}
        self._lock = threading.Lock()
        self.sessions: list[dict[str, Any]] = []

    # device -------------------------------------------------------------------------
    def _service_backend(self, name: str) -> Any:
        try:
            if self._service is None:
                from qiskit_ibm_runtime import QiskitRuntimeService

                self._service = QiskitRuntimeService(name=self._account, instance=self._instance)
            return self._service.backend(name)
        except Exception as error:  # the client raises many types; translate at the edge
            raise BackendError(f"cannot reach IBM Quantum backend {name!r}: {error}",
                               transient=classify(error) is ErrorKind.TRANSIENT) from None

    def limits(self) -> BackendLimits:
        return BackendLimits(max_executions=MAX_EXECUTIONS, num_qubits=self._device.num_qubits,
                             max_circuits=getattr(self._device, "max_circuits", None))

    def describe(self) -> dict[str, Any]:
        return dict(super().describe(), mode=self.mode_name, max_time=self.max_time,
                    optimization_level=self.optimization_level, skip_transpile=self.skip_transpile,
                    sampler=self.sampler_kind, local=self.local)

    def prepare(self, circuits: list["QuantumCircuit"], options: RunOptions) -> list["QuantumCircuit"]:
        """Transpile to the device's ISA, seeded so the same input gives the same circuits."""
        if self.skip_transpile:
            return circuits
        from qiskit.transpiler import generate_preset_pass_manager

        seed = options.seed if options.seed is not None else 0
        manager = generate_preset_pass_manager(backend=self._device, seed_transpiler=seed,
                                               optimization_level=self.optimization_level)
        return list(manager.run(circuits))

    # execution mode -----------------------------------------------------------------
    def _open_mode(self) -> Any:
        if self.local or self.mode_name == "job":
            return self._device
        from qiskit_ibm_runtime import Batch, Session

        kind = Batch if self.mode_name == "batch" else Session
        mode = kind(backend=self._device, max_time=self.max_time)
        self.sessions.append({"id": mode.session_id, "mode": self.mode_name})
        return mode

    def _current_mode(self) -> Any:
        with self._lock:
            if self._mode is None:
                self._mode = self._open_mode()
            return self._mode

    # jobs -----------------------------------------------------------------------------
    def submit(self, job: ChunkJob, circuits: Sequence["QuantumCircuit"], options: RunOptions) -> str:
        try:
            sampler = make_sampler(self.sampler_kind, self._current_mode(), job.tags())
            runtime_job = sampler.run(list(circuits), shots=options.shots)
        except Exception as error:
            raise self._translate("submit", error) from None
        job_id = runtime_job.job_id()
        self._jobs[job_id] = runtime_job
        self._memory[job_id] = options.memory
        return job_id

    def _job(self, job_id: str) -> Any:
        runtime_job = self._jobs.get(job_id)
        if runtime_job is None:
            if self.local:
                raise BackendError(f"unknown local job {job_id} (local jobs do not survive the process)")
            try:
                runtime_job = self._service.job(job_id)
            except Exception as error:
                raise self._translate("find job", error) from None
            self._jobs[job_id] = runtime_job
        return runtime_job

    def status(self, job_id: str) -> JobStatus:
        try:
            return map_status(self._job(job_id).status())
        except BackendError:
            raise
        except Exception as error:
            raise self._translate("status", error) from None

    def result(self, job_id: str) -> list[CircuitOutcome]:
        try:
            result = self._job(job_id).result()
        except BackendError:
            raise
        except Exception as error:
            raise self._translate("result", error) from None
        self._jobs.pop(job_id, None)
        return outcomes(result, memory=self._memory.pop(job_id, False))

    def job_error(self, job_id: str) -> BaseException | None:
        runtime_job = self._jobs.get(job_id)
        if runtime_job is None:
            return None
        try:
            runtime_job.result()
        except Exception as error:
            return self._translate("job", error)
        return None

    def cancel(self, job_id: str) -> None:
        try:
            self._job(job_id).cancel()
        except Exception as error:
            if classify(error) is ErrorKind.TRANSIENT:
                raise self._translate("cancel", error) from None

    def find_job(self, job: ChunkJob) -> str | None:
        if self.local:
            return None
        try:
            found = self._service.jobs(job_tags=job.tags(), limit=5)
        except Exception as error:
            raise self._translate("find job", error) from None
        return found[0].job_id() if found else None

    def is_transient(self, error: BaseException) -> bool:
        if isinstance(error, BackendError):
            return error.transient
        return classify(error) in (ErrorKind.TRANSIENT, ErrorKind.PENDING_LIMIT)

    def close(self) -> None:
        mode, self._mode = self._mode, None
        if mode is not None and mode is not self._device:
            try:
                mode.close()
            except Exception:  # closing is a courtesy; queued jobs finish either way
                pass

    def _translate(self, action: str, error: BaseException) -> BackendError:
        kind = classify(error)
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        translated = BackendError(f"{action} failed on {self.name}: {message}",
                                  transient=kind in (ErrorKind.TRANSIENT, ErrorKind.PENDING_LIMIT),
                                  code=kind.value)
        return translated
