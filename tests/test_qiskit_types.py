"""A set's result as Qiskit's own types: the same BitArrays as qiskit-aer's SamplerV2 and
the same Result as AerSimulator, seed for seed (real Aer runs)."""

from __future__ import annotations

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import SamplerV2

from jobman.backends.aer import chunk_seed
from jobman.exceptions import JobmanError
from jobman.manager import JobManager

SHOTS = 64


def _two_registers(name: str) -> QuantumCircuit:
    circuit = QuantumCircuit(QuantumRegister(3), ClassicalRegister(2, "c"), ClassicalRegister(1, "d"),
                             name=name)
    circuit.h(0)
    circuit.cx(0, 2)
    circuit.measure([0, 1], [0, 1])
    circuit.measure(2, 2)
    circuit.metadata = {"point": name}
    return circuit


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    circuits = [_two_registers(f"c{i}") for i in range(3)]
    manager = JobManager(tmp_path_factory.mktemp("qt") / "store")
    with_memory = manager.run(circuits, shots=SHOTS, seed=11, memory=True, chunk_size=2)
    counts_only = manager.run(circuits, shots=SHOTS, seed=11, chunk_size=2)
    return circuits, with_memory.result(), counts_only.result()


def test_primitive_result_equals_qiskit_aers_sampler_v2_bit_for_bit(runs):
    circuits, result, _ = runs
    primitive = result.to_primitive_result()
    assert len(primitive) == 3 and primitive.metadata["job_set_id"] == result.job_set_id
    for index, circuit in enumerate(circuits):
        expected = SamplerV2(seed=chunk_seed(11, index)).run([circuit], shots=SHOTS).result()[0]
        got = primitive[index]
        assert sorted(got.data.keys()) == ["c", "d"]
        for register in ("c", "d"):
            assert got.data[register].num_bits == expected.data[register].num_bits
            assert (got.data[register].array == expected.data[register].array).all()
        assert got.metadata["shots"] == SHOTS and got.metadata["circuit_metadata"] == {"point": f"c{index}"}


def test_qiskit_result_formats_as_aers_result(runs):
    circuits, result, _ = runs
    qiskit_result = result.to_qiskit_result()
    for index, circuit in enumerate(circuits):
        aer = AerSimulator().run(circuit, shots=SHOTS, seed_simulator=chunk_seed(11, index),
                                 memory=True).result()
        assert qiskit_result.get_counts(index) == aer.get_counts(0) == result.get_counts(index)
        assert qiskit_result.get_memory(index) == aer.get_memory(0)
    assert qiskit_result.get_counts("c1") == qiskit_result.get_counts(1)
    assert qiskit_result.results[2].header["metadata"] == {"point": "c2"}


def test_without_memory_each_outcome_appears_as_often_as_counted(runs):
    _, with_memory, counts_only = runs
    primitive = counts_only.to_primitive_result()
    reference = with_memory.to_primitive_result()
    for got, expected in zip(primitive, reference):
        assert got.data.c.get_counts() == expected.data.c.get_counts()
        assert got.data.d.num_shots == SHOTS
    assert "memory" not in counts_only.to_qiskit_result().results[0].data.to_dict()


def test_a_set_with_a_failed_circuit_says_which_instead_of_a_partial_result(tmp_path):
    bare = QuantumCircuit(1, 1, name="bare")  # no measurement: fails alone
    result = JobManager(tmp_path / "store").run([_two_registers("ok"), bare], shots=8).result()
    with pytest.raises(JobmanError, match=r"circuits 1 did not end DONE.*jobman retry"):
        result.to_primitive_result()
    with pytest.raises(JobmanError, match="circuits 1 did not end DONE"):
        result.to_qiskit_result()
