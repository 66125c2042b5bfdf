"""Splitting a task into backend-sized chunks."""

from __future__ import annotations

from jobman.backends.base import BackendLimits
from jobman.exceptions import UsageError

#: Chunk size when neither the user nor the backend asks for less.
DEFAULT_CHUNK_SIZE = 1000


def chunk_size_for(total: int, shots: int, limits: BackendLimits, requested: int | None = None) -> int:
    """The smallest of the requested size, the backend's circuit limit and executions / shots."""
    if shots <= 0:
        raise UsageError(f"shots must be a positive integer, not {shots}")
    if requested is not None and requested <= 0:
        raise UsageError(f"--chunk-size must be a positive integer, not {requested}")
    candidates = [requested if requested is not None else DEFAULT_CHUNK_SIZE]
    if limits.max_circuits:
        candidates.append(limits.max_circuits)
    if limits.max_executions:
        if shots > limits.max_executions:
            raise UsageError(f"{shots} shots exceed the backend's limit of "
                             f"{limits.max_executions} executions per job")
        candidates.append(limits.max_executions // shots)
    return max(1, min(candidates))


def plan_chunks(total: int, chunk_size: int) -> list[tuple[int, int]]:
    """Circuit ranges ``[start, stop)`` that cover ``0..total`` in chunks of ``chunk_size``."""
    return [(start, min(start + chunk_size, total)) for start in range(0, total, chunk_size)]
