"""``jobman run --dry-run``: the plan of a task, and what it would cost, without running it.

Nothing is submitted and no set is created: the inputs are read and chunked exactly as ``run``
would chunk them, a few circuits spread over the input are prepared (transpiled, on IBM
backends) as a sample, and from the sample come the upload size per job and, where the backend
can tell (fake and IBM devices), the estimated QPU time of the whole task
(see :mod:`jobman.estimate` and :mod:`jobman.backends.ibm_usage` for the formula).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from jobman.backends.base import Backend, RunOptions
from jobman.estimate import ESTIMATE_METHOD, job_seconds
from jobman.plan import (PAYLOAD_MARGIN, as_circuits, chunk_size_for, payload_per_circuit, plan_chunks,
                         sample_indices, slice_upload)

if TYPE_CHECKING:  # pragma: no cover
    from jobman.inputs import CircuitSource


@dataclass(frozen=True)
class SampleCircuit:
    """One sampled circuit as the backend would run it."""

    index: int
    name: str | None
    num_qubits: int | None = None
    depth: int | None = None
    ops: dict[str, int] = field(default_factory=dict)
    seconds_per_shot: float | None = None
    upload_bytes: int | None = None
    problem: str | None = None  # why it would fail, alone, when run


@dataclass(frozen=True)
class JobPlan:
    """One job (chunk) of the plan."""

    chunk: int
    start: int
    stop: int
    executions: int
    upload_bytes: int | None
    qpu_seconds: float | None


@dataclass(frozen=True)
class DryRun:
    """The whole plan: what ``run`` would submit, and the estimates."""

    backend: str
    total: int
    shots: int
    chunk_size: int
    inputs: list[dict[str, Any]]
    jobs: list[JobPlan]
    sample: list[SampleCircuit]
    prepared: bool  # whether the sample was transformed (transpiled) as the backend runs it
    qpu_seconds: float | None
    estimate_method: str | None
    max_payload_bytes: int | None
    unit: str = "circuit"  #: what ``total`` counts: ``"point"`` of a sweep or estimator task
    #: An estimator task's distinct precisions (its executions are the shots they take); else None.
    precisions: list[float] | None = None

    @property
    def executions(self) -> int:
        return sum(job.executions for job in self.jobs)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(dry_run=True, num_chunks=len(self.jobs), executions=self.executions)
        return data


def plan_dry_run(source: "CircuitSource", backend: Backend, options: RunOptions,
                 chunk_size: int | None, inputs: list[dict[str, Any]]) -> DryRun:
    """Plan the task on ``backend`` as ``run`` would, and estimate it from a sample."""
    size = chunk_size_for(len(source), options.shots, backend.limits(), chunk_size,
                          payload_per_circuit(source, backend))
    sample, prepared = _sample(source, backend, options)
    shot_costs = [s.seconds_per_shot for s in sample if s.seconds_per_shot is not None]
    per_shot = sum(shot_costs) / len(shot_costs) if shot_costs else None
    uploads = [s.upload_bytes for s in sample if s.upload_bytes]
    per_upload = int(max(uploads) * PAYLOAD_MARGIN) if uploads else None
    upload = _pub_uploads(source, backend, options) or (lambda n: None if per_upload is None else per_upload * n)
    precisions = _precisions(source)
    jobs = []
    for i, (a, b) in enumerate(plan_chunks(len(source), size)):
        executions = _executions(source, a, b, options.shots) if precisions is not None else (b - a) * options.shots
        jobs.append(JobPlan(chunk=i, start=a, stop=b, executions=executions, upload_bytes=upload(b - a),
                            qpu_seconds=None if per_shot is None else
                            job_seconds(backend.job_overhead_seconds, executions, per_shot)))
    total = None if per_shot is None else round(sum(job.qpu_seconds or 0.0 for job in jobs), 6)
    return DryRun(backend=backend.name, total=len(source), shots=options.shots, chunk_size=size,
                  inputs=inputs, jobs=jobs, sample=sample, prepared=prepared, qpu_seconds=total,
                  estimate_method=ESTIMATE_METHOD if total is not None else None,
                  max_payload_bytes=backend.limits().max_payload_bytes,
                  unit="point" if hasattr(source, "pubs") else "circuit", precisions=precisions)


def _precisions(source: "CircuitSource") -> list[float] | None:
    """An estimator task's distinct precisions, or None for any other task."""
    pubs = getattr(source, "pubs", None)
    if not pubs or not all(pub.estimates for pub in pubs):
        return None
    return sorted({pub.precision or 0.0 for pub in pubs})


def _executions(source: "CircuitSource", start: int, stop: int, shots: int) -> int:
    """Shots of an estimator job of points ``[start, stop)``: what each point's precision takes
    (:meth:`jobman.sweep.SweepPoint.shots`, the figure a usage budget counts); none when exact."""
    return sum(point.shots(shots) if point.precision > 0 else 0 for point in source.load(start, stop))


def _pub_uploads(source: "CircuitSource", backend: Backend, options: RunOptions
                 ) -> "Callable[[int], int | None] | None":
    """For a sweep on a backend that takes its points as PUB slices: the upload of a job of
    ``n`` points (its circuit once, ``n`` rows of values), from the first points of the task;
    else None."""
    from jobman.log import message, swallowed

    pubs = getattr(source, "pubs", None)
    if not backend.runs_sweeps or not pubs or len(source) < 2:
        return None
    try:
        measured = slice_upload(source, backend, pubs[0], options)
    except Exception as error:
        swallowed(f"sizing a job of points (uploads estimated per bound point): {message(error)}", error)
        return None
    if measured is None or measured[2] < 2:
        return None
    one, row, _ = measured
    return lambda n: int((one + row * (n - 1)) * PAYLOAD_MARGIN)


def _sample(source: "CircuitSource", backend: Backend, options: RunOptions
            ) -> tuple[list[SampleCircuit], bool]:
    """A few circuits spread over the input, prepared as the backend would run them."""
    from jobman.log import message
    from jobman.submitter import circuit_problem

    rows: list[SampleCircuit] = []
    for index in sample_indices(len(source)):
        try:
            item = source.load(index, index + 1)[0]
            circuit = as_circuits([item])[0]  # a sweep's point: bound
        except Exception as error:
            rows.append(SampleCircuit(index, None, problem=f"cannot load circuit: {message(error)}"))
            continue
        # an estimator point's observables say what is measured
        problem = backend.validate(circuit) or circuit_problem(
            circuit, measured=getattr(item, "observables", None) is None)
        if problem:
            rows.append(SampleCircuit(index, circuit.name, circuit.num_qubits, problem=problem))
            continue
        try:
            ready = backend.prepare([circuit], options)[0]
        except Exception as error:
            rows.append(SampleCircuit(index, circuit.name, circuit.num_qubits,
                                      problem=f"cannot prepare circuit: {message(error)}"))
            continue
        rows.append(_describe(index, circuit.name, ready, backend))
    return rows, backend.keep_prepared


def _describe(index: int, name: str, circuit: Any, backend: Backend) -> SampleCircuit:
    per_shot = backend.seconds_per_shot(circuit)
    return SampleCircuit(index=index, name=name, num_qubits=circuit.num_qubits, depth=circuit.depth(),
                         ops={str(k): int(v) for k, v in circuit.count_ops().items()},
                         seconds_per_shot=None if per_shot is None else round(per_shot, 9),
                         upload_bytes=backend.upload_bytes([circuit]))
