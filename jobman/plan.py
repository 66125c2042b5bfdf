"""Splitting a task into backend-sized chunks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobman.backends.base import BackendLimits, RunOptions
from jobman.exceptions import UsageError
from jobman.log import swallowed

if TYPE_CHECKING:  # pragma: no cover
    from jobman.backends.base import Backend
    from jobman.inputs import CircuitSource

#: Chunk size when neither the user nor the backend asks for less.
DEFAULT_CHUNK_SIZE = 1000
#: Circuits sampled to estimate the upload size of one circuit.
PAYLOAD_SAMPLES = 8
#: Circuits differ: plan for this many times the largest sampled one.
PAYLOAD_MARGIN = 1.5


def chunk_size_for(total: int, shots: int, limits: BackendLimits, requested: int | None = None,
                   payload_per_circuit: int | None = None) -> int:
    """The smallest of the requested size, the backend's circuit limit, executions / shots and
    (when the backend caps uploads) its payload limit / the bytes one circuit takes."""
    if shots <= 0:
        raise UsageError(f"shots must be a positive integer, not {shots}")
    if requested is not None and requested <= 0:
        raise UsageError(f"--chunk-size must be a positive integer, not {requested}")
    if limits.max_shots is not None and shots > limits.max_shots:
        raise UsageError(f"{shots} shots exceed the backend's limit of {limits.max_shots} shots per circuit")
    candidates = [requested if requested is not None else DEFAULT_CHUNK_SIZE]
    if limits.max_circuits:
        candidates.append(limits.max_circuits)
    if limits.max_executions:
        if shots > limits.max_executions:
            raise UsageError(f"{shots} shots exceed the backend's limit of "
                             f"{limits.max_executions} executions per job")
        candidates.append(limits.max_executions // shots)
    if limits.max_payload_bytes and payload_per_circuit:
        candidates.append(limits.max_payload_bytes // payload_per_circuit)
    return max(1, min(candidates))


def payload_per_circuit(source: "CircuitSource", backend: "Backend",
                        samples: int = PAYLOAD_SAMPLES) -> int | None:
    """Upload bytes per circuit, from a few circuits spread over the input (the largest seen,
    with a margin), or None when the backend does not limit uploads. Best effort: a circuit
    that cannot be read or prepared here is left to fail, alone, when its chunk runs."""
    if not backend.limits().max_payload_bytes or len(source) == 0:
        return None
    per_point = payload_per_point(source, backend, samples)
    if per_point is not None:
        return per_point
    sizes = []
    for index in sample_indices(len(source), samples):
        try:
            size = backend.estimate_payload(as_circuits(source.load(index, index + 1)))
        except Exception as error:
            swallowed(f"estimating the payload of circuit {index} (left out of the sample)", error)
            continue
        if size:
            sizes.append(size)
    return int(max(sizes) * PAYLOAD_MARGIN) if sizes else None


#: Points of a PUB that size its rows of values (their real values: they compress as theirs do).
PUB_SIZING_POINTS = 33


def payload_per_point(source: "CircuitSource", backend: "Backend", samples: int = PAYLOAD_SAMPLES
                      ) -> int | None:
    """For a sweep on a backend that takes points as PUB slices (one circuit and its rows of
    values a job): the upload bytes a point adds to a job, its row plus its PUB's circuit shared
    by the PUB's points, the largest over a few PUBs, with a margin. A job of ``n`` points then
    holds at most two partial PUBs more than ``n`` such shares, which the margin covers while a
    circuit takes less than a sixth of the cap; else (or for anything else) None, and jobs are
    sized by bound points."""
    pubs = getattr(source, "pubs", None)
    cap = backend.limits().max_payload_bytes
    if not backend.runs_sweeps or not pubs or not cap:
        return None
    worst = 0.0
    for p in sample_indices(len(pubs), samples):
        pub = pubs[p]
        try:
            measured = slice_upload(source, backend, pub, RunOptions())
        except Exception as error:
            swallowed(f"sizing the upload of PUB {p} (jobs sized by bound points)", error)
            return None
        if measured is None:
            return None
        one, row, _ = measured
        circuit = one - row
        if circuit * PAYLOAD_MARGIN * 6 > cap:
            return None
        worst = max(worst, row + circuit / pub.size)
    return max(1, int(worst * PAYLOAD_MARGIN)) if worst else None


def slice_upload(source: "CircuitSource", backend: "Backend", pub: Any, options: RunOptions
                 ) -> tuple[int, float, int] | None:
    """What a job of points of PUB ``pub`` (a sweep's ``PubRecord``) uploads as one PUB slice,
    measured on its first points (up to :data:`PUB_SIZING_POINTS`) prepared as the backend runs
    them: (the bytes of a job of one point, the bytes each further point's row adds, the points
    measured); None when the backend uploads nothing. Raises what preparing raises."""
    points = source.load(pub.start, pub.start + min(pub.size, PUB_SIZING_POINTS))
    ready = backend.prepare(points, options)
    one, many = backend.upload_bytes(ready[:1]), backend.upload_bytes(ready)
    if one is None or many is None:
        return None
    row = (many - one) / (len(points) - 1) if len(points) > 1 else 0.0
    return one, row, len(points)


def as_circuits(items: list[Any]) -> list[Any]:
    """Circuits as a backend without sweeps gets them: the points of a sweep bound."""
    from jobman.sweep import SweepPoint

    return [item.bound() if isinstance(item, SweepPoint) else item for item in items]


def sample_indices(total: int, samples: int = PAYLOAD_SAMPLES) -> list[int]:
    """``samples`` circuit indices spread over ``0..total`` (the first and the last included)."""
    if total <= 0:
        return []
    return sorted({total * k // samples for k in range(samples)} | {total - 1})


def plan_chunks(total: int, chunk_size: int) -> list[tuple[int, int]]:
    """Circuit ranges ``[start, stop)`` that cover ``0..total`` in chunks of ``chunk_size``."""
    return [(start, min(start + chunk_size, total)) for start in range(0, total, chunk_size)]
