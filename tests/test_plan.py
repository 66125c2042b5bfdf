"""Chunk sizing by the backend's real limits."""

import pytest

from jobman.backends.base import BackendLimits
from jobman.exceptions import UsageError
from jobman.plan import DEFAULT_CHUNK_SIZE, chunk_size_for, plan_chunks


def test_smallest_of_request_circuit_limit_and_executions_per_shot():
    assert chunk_size_for(10_000, 1000, BackendLimits()) == DEFAULT_CHUNK_SIZE
    assert chunk_size_for(10_000, 1000, BackendLimits(), requested=250) == 250
    assert chunk_size_for(10_000, 1000, BackendLimits(max_circuits=300), requested=500) == 300
    assert chunk_size_for(10_000, 100_000, BackendLimits(max_executions=10_000_000)) == 100
    assert chunk_size_for(10_000, 1, BackendLimits(max_executions=10_000_000), requested=5000) == 5000


@pytest.mark.parametrize("shots, requested", [(0, None), (-5, None), (10, 0), (10, -1)])
def test_nonpositive_values_are_refused(shots, requested):
    with pytest.raises(UsageError):
        chunk_size_for(100, shots, BackendLimits(), requested)


def test_shots_above_the_execution_limit_are_refused():
    with pytest.raises(UsageError, match="exceed"):
        chunk_size_for(10, 20_000_000, BackendLimits(max_executions=10_000_000))


def test_plan_covers_every_circuit_once():
    ranges = plan_chunks(2500, 700)
    assert ranges == [(0, 700), (700, 1400), (1400, 2100), (2100, 2500)]
    assert plan_chunks(0, 10) == []


def test_shots_above_the_backends_shot_limit_are_refused():
    with pytest.raises(UsageError, match="^100 shots exceed the backend's limit of 99 shots per circuit$"):
        chunk_size_for(10, 100, BackendLimits(max_shots=99))
    assert chunk_size_for(10, 99, BackendLimits(max_shots=99)) == DEFAULT_CHUNK_SIZE
