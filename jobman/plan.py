"""Splitting a task into backend-sized chunks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobman.backends.base import BackendLimits
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
