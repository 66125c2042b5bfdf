"""The merged result: lookup by index and name across chunk boundaries, memory, iteration."""

import pytest

from conftest import BASIS_QUBITS, expected_counts
from jobman.exceptions import CircuitIndexError, JobmanError
from jobman.manager import JobManager
from jobman.result import hex_to_bits
from jobman.status import JobStatus, SetState


@pytest.fixture(scope="module")
def finished(tmp_path_factory, basis_qpy):
    store = tmp_path_factory.mktemp("store")
    job_set = JobManager(store).run(basis_qpy, shots=64, seed=3, chunk_size=700, memory=True)
    return job_set


def test_every_circuit_has_its_exact_counts(finished):
    result = finished.results()
    assert len(result) == 2500
    for index in (0, 1, 31, 32, 699, 700, 701, 1399, 1400, 2499):
        assert result.get_counts(index) == expected_counts(index, 64)
    assert [c.index for c in result] == list(range(2500))
    assert all(c.counts == expected_counts(c.index, 64) for c in result)


def test_lookup_by_name(finished):
    result = finished.results()
    assert result.get_counts("c1234") == expected_counts(1234, 64)
    assert result.circuit("c700").index == 700
    with pytest.raises(CircuitIndexError, match="no circuit named 'nope'"):
        result.get_counts("nope")


def test_memory_is_kept_per_shot(finished):
    memory = finished.results().get_memory(701)
    assert memory == [format(701 % 2**BASIS_QUBITS, "05b")] * 64


@pytest.mark.parametrize("key", [-1, 2500, 10**9])
def test_out_of_range_indices_are_refused(finished, key):
    with pytest.raises(CircuitIndexError, match="out of range"):
        finished.results().get_counts(key)


def test_statuses_and_report(finished):
    assert finished.statuses() == [JobStatus.DONE] * 4
    assert finished.status() is SetState.DONE
    report = finished.report()
    assert "2500 circuits in 4 chunks" in report and "DONE 2500" in report


def test_memory_absent_when_not_kept(tmp_path, small_qpy):
    job_set = JobManager(tmp_path).run(small_qpy, shots=8)
    with pytest.raises(JobmanError, match="no shot memory; run with --memory"):
        job_set.results().get_memory(3)


def test_hex_to_bits_pads_to_clbits():
    assert hex_to_bits("0x5", 4) == "0101"
    assert hex_to_bits("0x0", 3) == "000"


def test_hex_to_bits_splits_registers_as_qiskit_does():
    from qiskit.result import Counts

    cases = [(5, [2, 1]), (3, [1]), (3, [2, 2]), (2, [2, 0]), (3, []), (4, [2, 2])]
    for num_clbits, sizes in cases:
        creg_sizes = [[f"r{k}", size] for k, size in enumerate(sizes)]
        for value in range(2**num_clbits):
            key = hex(value)
            expected = next(iter(Counts({key: 1}, creg_sizes=creg_sizes, memory_slots=num_clbits)))
            assert hex_to_bits(key, num_clbits, sizes) == expected, (num_clbits, sizes, value)


def test_counts_that_qiskit_folds_into_one_key_add_up():
    from jobman.result import format_counts

    # clbits 0-1 outside every register, clbit 2 in a 1-bit register: Qiskit keeps only bit 2
    assert format_counts({"0x4": 3, "0x5": 2, "0x1": 7}, 3, [1]) == {"1": 5, "0": 7}


def test_sets_stored_without_register_sizes_read_as_before(tmp_path):
    from jobman.records import ChunkRecord
    from jobman.result import _build

    line = {"index": 0, "name": "old", "status": "DONE", "num_clbits": 3, "counts": {"0x5": 4},
            "error": None}  # written before lines carried "creg_sizes"
    record = ChunkRecord(index=0, start=0, stop=1, status="DONE")
    assert _build(0, record, line).counts == {"101": 4}
    assert _build(0, record, dict(line, creg_sizes=[2, 1])).counts == {"1 01": 4}


def test_reading_every_circuit_in_order_holds_one_chunk_at_a_time(tmp_path):
    from cli_support import make_set
    from jobman.result import ManagedResult

    set_store = make_set(tmp_path / "store", "20260101-000000-aaaaaa", total=20_000, chunk_size=500)
    result = ManagedResult(set_store)
    for index in range(len(result)):
        assert result.circuit(index).counts is not None
        assert len(result._cache) == 1  # one chunk's lines (~70 kB) held, never all 40 (~2.8 MB)
