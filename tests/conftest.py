"""Shared fixtures: a private store per test and input files whose answers are exact."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from qiskit import QuantumCircuit

from jobman.inputs import make_basis_circuits

#: Qubits of the basis-state circuits: circuit i prepares |i mod 2**BASIS_QUBITS>.
BASIS_QUBITS = 5


def expected_counts(index: int, shots: int, num_qubits: int = BASIS_QUBITS) -> dict[str, int]:
    """The exact counts of basis circuit ``index``."""
    return {format(index % 2**num_qubits, f"0{num_qubits}b"): shots}


def ghz(n: int) -> QuantumCircuit:
    """A GHZ state of ``n`` qubits named ``ghz-<n>``: outcomes all zeros or all ones."""
    circuit = QuantumCircuit(n, name=f"ghz-{n}")
    circuit.h(0)
    for qubit in range(1, n):
        circuit.cx(0, qubit)
    circuit.measure_all()
    return circuit


def write_qpy(path: Path, circuits, version: int | None = None) -> Path:
    """Dump circuits to a QPY file."""
    from qiskit import qpy

    with open(path, "wb") as handle:
        if version is None:
            qpy.dump(circuits, handle)
        else:
            qpy.dump(circuits, handle, version=version)
    return path


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh store, also set as $JOBMAN_HOME for the CLI."""
    root = tmp_path / "store"
    monkeypatch.setenv("JOBMAN_HOME", str(root))
    return root


@pytest.fixture(scope="session")
def basis_qpy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A QPY file of 2,500 basis-state circuits named c0..c2499."""
    path = tmp_path_factory.mktemp("inputs") / "basis.qpy"
    return write_qpy(path, make_basis_circuits(2500, BASIS_QUBITS))


@pytest.fixture(scope="session")
def small_qpy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A QPY file of 40 basis-state circuits named c0..c39."""
    path = tmp_path_factory.mktemp("inputs") / "small.qpy"
    return write_qpy(path, make_basis_circuits(40, BASIS_QUBITS))


def run_jobman(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
               **kwargs) -> subprocess.CompletedProcess:
    """Run the real ``jobman`` console entry in a subprocess (``python -m jobman``)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "jobman", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, **kwargs)


@pytest.fixture
def first_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """New sets in store format 1 (chunks and results as JSON files), as jobman made them
    before format 2: for tests that damage or edit those files."""
    monkeypatch.setenv("JOBMAN_STORE_FORMAT", "1")
