"""The contract between the engine and the places circuits run.

The engine only ever talks to a :class:`Backend`. A backend submits one chunk of
circuits as one job, reports job states with jobman's :class:`~jobman.status.JobStatus`,
returns per-circuit outcomes, and says which of its errors are worth retrying.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from jobman.status import JobStatus

#: ``BackendError.code`` of "the backend does not know this job" (see :meth:`Backend.is_missing`).
JOB_NOT_FOUND = "not_found"

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit


@dataclass(frozen=True)
class BackendLimits:
    """What one job on this backend may hold. ``None`` means no limit."""

    max_circuits: int | None = None
    max_executions: int | None = None  # circuits x shots
    max_payload_bytes: int | None = None
    num_qubits: int | None = None
    max_shots: int | None = None  # shots per circuit


@dataclass(frozen=True)
class RunOptions:
    """Options of a task that every backend understands."""

    shots: int = 1024
    seed: int | None = None
    memory: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"shots": self.shots, "seed": self.seed, "memory": self.memory, "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunOptions":
        return cls(shots=int(data["shots"]), seed=data.get("seed"), memory=bool(data.get("memory")),
                   extra=dict(data.get("extra") or {}))


@dataclass
class CircuitOutcome:
    """The result of one circuit: counts keyed by hex outcome (``"0x5"``) over all clbits.

    ``creg_sizes`` are the sizes of the circuit's classical registers in its order (as in
    Aer's result header), which split the outcome into registers the way Qiskit prints it.
    """

    status: JobStatus
    num_clbits: int = 0
    counts: dict[str, int] | None = None
    memory: list[str] | None = None
    error: str | None = None
    metadata: dict[str, Any] | None = None
    creg_sizes: list[int] | None = None
    #: A point of an estimator PUB: the expectation value of each of its PUB's observables
    #: (flat, C order) and its standard error; None for circuits that were sampled. A backend
    #: that estimates only the observables the point's result takes (see
    #: ``SweepPoint.used``) gives those; the stored line has None for the others.
    evs: list[float | None] | None = None
    stds: list[float | None] | None = None


@dataclass(frozen=True)
class ChunkJob:
    """One submission: attempt ``attempt`` of chunk ``chunk``.

    It holds the task's circuits in the global ranges ``runs`` (usually one range,
    ``[start, stop)``; several when some circuits were left out or are retried).
    """

    set_id: str
    chunk: int
    start: int
    stop: int
    attempt: int
    runs: tuple[tuple[int, int], ...] = ()

    def ranges(self) -> tuple[tuple[int, int], ...]:
        """The global circuit ranges this job holds, in submission order."""
        return self.runs or ((self.start, self.stop),)

    def tags(self) -> list[str]:
        """Tags that let a job be found again after a crash."""
        return ["jobman", f"jobman-set:{self.set_id}", f"jobman-chunk:{self.chunk}",
                f"jobman-attempt:{self.attempt}"]


class Backend(ABC):
    """A place to run chunks of circuits. One instance serves one task."""

    #: Registry name, e.g. ``"aer"`` or ``"fake_manila"``.
    name: str = "backend"
    #: Whether a job id recorded before a crash can be re-attached after it.
    reattachable: bool = False
    #: Whether each chunk record must be on the disk before the next step (an attempt before
    #: its job is submitted): a job whose record a power cut lost could be paid for, or run, twice.
    #: False for a local simulator, whose lost work is simply run again on resume.
    durable_records: bool = True
    #: Sensible number of jobs to keep in flight at once.
    default_max_in_flight: int = 2
    #: Whether ``default_max_in_flight`` follows something that changes while a set runs (a
    #: cluster's size): a set then records no number, and the engine asks every round.
    elastic_in_flight: bool = False

    def limits(self) -> BackendLimits:
        """Per-job limits used to size chunks."""
        return BackendLimits()

    def validate(self, circuit: "QuantumCircuit") -> str | None:
        """Why ``circuit`` cannot run here, or None when it can."""
        limit = self.limits().num_qubits
        if limit is not None and circuit.num_qubits > limit:
            return f"circuit has {circuit.num_qubits} qubits; backend {self.name} has {limit}"
        return None

    def prepare(self, circuits: list["QuantumCircuit"], options: RunOptions) -> list["QuantumCircuit"]:
        """Turn circuits into what this backend executes (e.g. transpile to its ISA)."""
        return circuits

    @abstractmethod
    def submit(self, job: ChunkJob, circuits: Sequence["QuantumCircuit"], options: RunOptions) -> str:
        """Start running ``circuits`` and return the backend's job id without waiting."""

    @abstractmethod
    def status(self, job_id: str) -> JobStatus:
        """The current status of a job."""

    @abstractmethod
    def result(self, job_id: str) -> list[CircuitOutcome]:
        """Per-circuit outcomes of a finished job, in submission order."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Cancel a queued or running job."""

    def wait(self, job_ids: Sequence[str], timeout: float) -> dict[str, JobStatus]:
        """Block up to ``timeout`` seconds or until a job is final; return every job's status."""
        deadline = time.monotonic() + timeout
        while True:
            states = {job_id: self.status(job_id) for job_id in job_ids}
            if any(s.is_final for s in states.values()) or time.monotonic() >= deadline:
                return states
            time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))

    #: Seconds between status polls in the default :meth:`wait`.
    poll_interval: float = 1.0

    def job_error(self, job_id: str) -> BaseException | None:
        """The error that made a job end in ERROR, if the backend knows it."""
        return None

    def find_job(self, job: ChunkJob) -> str | None:
        """The id of a job already submitted for ``job`` (found by its tags), if any."""
        return None

    def is_transient(self, error: BaseException) -> bool:
        """Whether retrying the call (or resubmitting the job) that raised ``error`` may help."""
        from jobman.exceptions import BackendError

        return isinstance(error, BackendError) and error.transient

    def is_missing(self, error: BaseException) -> bool:
        """Whether a failed status or result read says the job does not exist (the service
        does not know its id). Only then does the engine give a job up; any other failure to
        read it (an outage, 5xx, a timeout) is waited out, since the job may be running."""
        from jobman.exceptions import BackendError

        return isinstance(error, BackendError) and error.code == JOB_NOT_FOUND

    def wants_split(self, error: BaseException) -> bool:
        """Whether a job failed for being too big (ran too long, result or upload too large):
        the engine then resubmits its circuits as two halves."""
        return False

    def must_wait(self, error: BaseException) -> bool:
        """Whether a submission was refused only because the service holds too many unfinished
        jobs: the engine waits for one to finish and submits again, using up no retry."""
        return False

    #: Whether :meth:`prepare` and :meth:`submit` take the points of a sweep as they are
    #: (:class:`~jobman.sweep.SweepPoint`: a PUB's circuit and one row of its values) and run
    #: them without bound copies; otherwise the engine gives them bound circuits.
    runs_sweeps: bool = False

    #: Whether the backend computes the expectation values of an estimator PUB's points (a
    #: :class:`~jobman.sweep.SweepPoint` with ``observables``) itself, as
    #: ``CircuitOutcome.evs``; only such backends take estimator tasks.
    runs_estimates: bool = False

    #: Whether the backend's expectation values can be exact (precision 0); one that estimates
    #: by sampling refuses a precision of 0 instead of running something else.
    exact_estimates: bool = False

    #: Whether :meth:`prepare` is costly (transpiling): the engine then stores what it returns,
    #: so that resume, retry and split halves never prepare the same circuits twice.
    keep_prepared: bool = False

    def estimate_payload(self, circuits: Sequence["QuantumCircuit"]) -> int | None:
        """Bytes a job of these circuits would upload, or None when the backend does not care."""
        return None

    #: QPU seconds every job costs on top of its shots (IBM: about 2 s per sub-job).
    job_overhead_seconds: float = 0.0

    def upload_bytes(self, circuits: Sequence["QuantumCircuit"]) -> int | None:
        """Bytes these prepared circuits would take in a job's upload to a remote service, or
        None when nothing is uploaded (dry runs report it; fake devices report what IBM would get)."""
        return None

    def seconds_per_shot(self, circuit: "QuantumCircuit") -> float | None:
        """QPU seconds one shot of this prepared circuit takes, or None where that is not known
        before running (Aer). See :mod:`jobman.estimate`."""
        return None

    def job_usage(self, job_id: str) -> dict[str, Any] | None:
        """A finished job's usage as the backend reports it (``quantum_seconds``, the service's
        timestamps; ``seconds`` of wall time for a simulator), or None if unknown."""
        return None

    def connect(self) -> None:
        """Reach the place jobs run (e.g. a cluster) before anything is planned or submitted;
        raising here stops the run with nothing changed, so a later resume carries on."""

    def before_submit(self) -> None:
        """Get ready for the next submission (e.g. open a session), so that what this opens can
        be recorded before any job runs in it."""

    def sessions(self) -> list[dict[str, Any]]:
        """Sessions (or batches) this backend opened or re-attached, as JSON-ready records."""
        return []

    def restore_sessions(self, records: Sequence[dict[str, Any]]) -> None:
        """Re-attach the sessions recorded by an earlier process (see :meth:`sessions`)."""

    def job_details(self, job_id: str) -> dict[str, Any]:
        """Extra facts about a submitted job to record with its attempt (e.g. ``session_id``)."""
        return {}

    def options(self) -> dict[str, Any]:
        """The keyword options this backend was built with, for ``get_backend(name, **options)``
        when the set is resumed. Never secrets."""
        return {}

    def close(self) -> None:
        """Release sessions, threads and connections."""

    def describe(self) -> dict[str, Any]:
        """Facts about this backend to record in the task (name, qubits, limits, options)."""
        limits = self.limits()
        return {"name": self.name, "num_qubits": limits.num_qubits,
                "max_circuits": limits.max_circuits, "max_executions": limits.max_executions,
                "max_payload_bytes": limits.max_payload_bytes, "options": self.options()}
