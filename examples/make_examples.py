"""Regenerate ``examples/circuits.qpy``: 1,000 mixed circuits with known answers.

    python examples/make_examples.py

Circuits 0-399 prepare basis states (circuit i gives ``format(i % 32, "05b")`` every shot),
400-599 are GHZ states on 2-5 qubits (half 0...0, half 1...1), 600-799 are small random
circuits, and 800-999 apply a QFT to a basis state (uniform outcomes).
"""

from __future__ import annotations

from pathlib import Path

from qiskit import QuantumCircuit, qpy
from qiskit.circuit.library import QFTGate
from qiskit.circuit.random import random_circuit

from jobman.inputs import make_basis_circuits


def ghz(num_qubits: int, name: str) -> QuantumCircuit:
    circuit = QuantumCircuit(num_qubits, name=name)
    circuit.h(0)
    for qubit in range(1, num_qubits):
        circuit.cx(qubit - 1, qubit)
    circuit.measure_all()
    return circuit


def qft_of_basis(index: int, num_qubits: int, name: str) -> QuantumCircuit:
    circuit = QuantumCircuit(num_qubits, name=name)
    for qubit in range(num_qubits):
        if index >> qubit & 1:
            circuit.x(qubit)
    circuit.append(QFTGate(num_qubits), range(num_qubits))
    circuit.measure_all()
    return circuit.decompose()


def example_circuits() -> list[QuantumCircuit]:
    circuits = make_basis_circuits(400, 5, name_prefix="basis-")
    circuits += [ghz(2 + i % 4, f"ghz-{i}") for i in range(200)]
    for i in range(200):
        circuit = random_circuit(2 + i % 4, depth=6, measure=True, seed=1000 + i)
        circuit.name = f"random-{i}"
        circuits.append(circuit)
    circuits += [qft_of_basis(i % 8, 3, f"qft-{i}") for i in range(200)]
    return circuits


if __name__ == "__main__":
    path = Path(__file__).with_name("circuits.qpy")
    with open(path, "wb") as handle:
        qpy.dump(example_circuits(), handle)
    print(f"wrote {path}")
