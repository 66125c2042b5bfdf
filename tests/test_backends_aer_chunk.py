"""The public chunk protocol: QPY bytes and seeded runs in, packed outcomes out."""

import pickle

from qiskit import QuantumCircuit

from jobman.backends.aer_chunk import (chunk_seed, encode_circuits, pack_outcome, plan_runs, run_chunk,
                                       split_ranges, unpack_answer, unpack_outcome)
from jobman.backends.base import CircuitOutcome, RunOptions
from jobman.exceptions import BackendError
from jobman.inputs import make_basis_circuits
from jobman.status import JobStatus
from test_backends_aer import random_like

SIMULATOR = {"max_parallel_threads": 1}


def test_runs_are_seeded_from_the_first_global_index_of_each_range():
    runs = plan_runs([(0, 4), (10, 12)], RunOptions(shots=7, seed=5, memory=True), {"x": 1})
    assert runs == [(4, {"shots": 7, "memory": True, "x": 1, "seed_simulator": 5}),
                    (2, {"shots": 7, "memory": True, "x": 1, "seed_simulator": chunk_seed(5, 10)})]
    assert "seed_simulator" not in plan_runs([(0, 1)], RunOptions())[0][1]


def test_answers_are_plain_data_and_exact():
    circuits = make_basis_circuits(5, 3)
    answer = run_chunk(encode_circuits(circuits), plan_runs([(0, 5)], RunOptions(shots=20)), SIMULATOR)
    assert pickle.loads(pickle.dumps(answer)) == answer
    assert all(type(field) in (str, int, dict, list, type(None)) for packed in answer["outcomes"] for field in packed)
    assert [o.counts for o in unpack_answer(answer)] == [{hex(i): 20} for i in range(5)]


def test_results_do_not_depend_on_how_circuits_are_cut():
    circuits = random_like(10)
    options = RunOptions(shots=100, seed=9, memory=True)

    def answer(ranges, part):
        return unpack_answer(run_chunk(encode_circuits(part), plan_runs(ranges, options), SIMULATOR))

    whole = answer([(0, 10)], circuits)
    pieces = [answer(r, [circuits[i] for a, b in r for i in range(a, b)])
              for r in split_ranges([(0, 10)], 3)]
    assert [(o.counts, o.memory) for piece in pieces for o in piece] == [(o.counts, o.memory) for o in whole]
    assert len({str(o.counts) for o in whole}) > 1


def test_aer_failures_come_back_in_the_answer():
    answer = run_chunk(b"not qpy", [(1, {"shots": 1})], SIMULATOR)
    assert set(answer) == {"error"}
    try:
        unpack_answer(answer)
    except BackendError as error:
        assert not error.transient and "Aer failed" in str(error)
    else:
        raise AssertionError("an error answer must raise")


def test_pack_round_trips():
    outcome = CircuitOutcome(JobStatus.ERROR, 2, counts=None, memory=["0x1"], error="why", metadata={"a": 1})
    assert unpack_outcome(pack_outcome(outcome)) == outcome


def test_metadata_and_the_simulation_time_travel_in_the_answer():
    circuit = QuantumCircuit(1, name="m")
    circuit.x(0)
    circuit.measure_all()
    circuit.metadata = {"theta": 0.5}
    answer = run_chunk(encode_circuits([circuit]), plan_runs([(0, 1)], RunOptions(shots=3)), SIMULATOR)
    assert unpack_answer(answer)[0].metadata == {"theta": 0.5}
    assert isinstance(answer["seconds"], float) and answer["seconds"] >= 0
