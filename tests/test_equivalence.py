"""Real workloads give, through jobman, exactly what Aer gives: the same counts key for key
with the same seed, through the Python API and through ``jobman run``; a circuit that cannot
run fails alone with its reason.

Aer gives experiment ``i`` of a run the seed ``seed + 2113 * i``, so each circuit's reference
is Aer's run of it alone with the seed it has in one run of the whole list (the benchmark
list is also compared with one literal ``AerSimulator().run(all).result().get_counts()``).
"""

from __future__ import annotations

import json

import pytest
from qiskit import qasm3, qpy
from qiskit.result.postprocess import format_counts_memory
from qiskit_aer import AerSimulator

from conftest import run_jobman, write_qpy
from jobman.manager import JobManager
from jobman.status import JobStatus
from workloads import benchmark_circuits, classical_variable, feature_circuits

SEED, SHOTS = 11, 64
STRIDE = 2113
#: Circuits whose keys Qiskit cuts from the clbits by register sizes alone, leaving clbits
#: out (outside every register, or a register that is not its clbits in order): Qiskit lets one
#: key overwrite another where several outcomes give it; jobman adds their counts up.
FOLDED = {"loose_and_register", "reordered_register"}


def aer_counts(circuit, index: int) -> dict[str, int]:
    """Aer's ``get_counts()`` for ``circuit`` at global ``index`` of a run seeded ``SEED``.

    Where Qiskit folds outcomes into one key, the counts of that key are added up (checked
    against Qiskit's own per-outcome formatting), and the keys stay Qiskit's.
    """
    result = AerSimulator().run(circuit, shots=SHOTS, seed_simulator=SEED + STRIDE * index).result()
    counts = dict(result.get_counts())
    header = result.results[0].header
    summed: dict[str, int] = {}
    for key, value in result.results[0].data.counts.items():
        bits = format_counts_memory(key, header)
        summed[bits] = summed.get(bits, 0) + value
    assert set(summed) == set(counts)
    if circuit.name not in FOLDED:
        assert summed == counts
    return summed


def check_same_as_aer(result, circuits) -> None:
    for index, circuit in enumerate(circuits):
        assert result.circuit(index).status is JobStatus.DONE, (circuit.name, result.circuit(index).error)
        assert result.get_counts(index) == aer_counts(circuit, index), circuit.name


@pytest.fixture(scope="module")
def workload():
    """Benchmarks at three sizes, the feature matrix, and one circuit Aer cannot run."""
    return benchmark_circuits((2, 3, 5)) + feature_circuits() + [classical_variable()]


def test_python_api_gives_aers_counts_and_fails_only_what_aer_cannot_run(tmp_path, workload):
    job_set = JobManager(tmp_path).run(workload, shots=SHOTS, seed=SEED, chunk_size=16)
    result = job_set.results()
    bad = len(workload) - 1
    check_same_as_aer(result, workload[:bad])
    failed = result.circuit(bad)
    assert failed.status is JobStatus.ERROR and failed.name == "classical_variable"
    assert failed.error.startswith("Aer cannot run this circuit: ")
    benchmarks = benchmark_circuits((2, 3, 5))
    literal = AerSimulator().run(benchmarks, shots=SHOTS, seed_simulator=SEED).result().get_counts()
    assert [result.get_counts(i) for i in range(len(benchmarks))] == literal


def test_jobman_run_gives_aers_counts_for_qpy_and_qasm_inputs(tmp_path, store_dir):
    """QPY cannot hold delays in units other than dt (Qiskit 2.6), so those come as OpenQASM 3
    files; everything else as one QPY file. Aer's reference runs what the files hold."""
    features = [c for c in feature_circuits() if not c.name.startswith("delay_")]
    delays = [c for c in feature_circuits() if c.name.startswith("delay_")]
    qpy_file = write_qpy(tmp_path / "workload.qpy", benchmark_circuits((2, 5)) + features)
    folder = tmp_path / "delays"
    folder.mkdir()
    for circuit in delays:
        (folder / f"{circuit.name}.qasm").write_text(qasm3.dumps(circuit))
    with open(qpy_file, "rb") as handle:
        circuits = list(qpy.load(handle))
    circuits += [qasm3.loads((folder / f"{c.name}.qasm").read_text()) for c in sorted(delays, key=lambda c: c.name)]
    done = run_jobman("run", str(qpy_file), str(folder), "--shots", str(SHOTS), "--seed", str(SEED),
                      "--chunk-size", "10", "-q")
    assert done.returncode == 0, done.stderr
    shown = run_jobman("result", "--circuit", f"0-{len(circuits) - 1}", "--json")
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [row["status"] for row in rows] == ["DONE"] * len(circuits)
    for index, (row, circuit) in enumerate(zip(rows, circuits)):
        assert row["counts"] == aer_counts(circuit, index), circuit.name


def t1_sweep(delays_us: tuple[float, ...]) -> list:
    from qiskit import QuantumCircuit

    circuits = []
    for delay in delays_us:
        circuit = QuantumCircuit(1, 1, name=f"t1_{delay}us")
        circuit.x(0)
        circuit.delay(delay, 0, unit="us")
        circuit.measure(0, 0)
        circuit.metadata = {"xval": delay * 1e-6}
        circuits.append(circuit)
    return circuits


def test_a_t1_sweep_decays_through_jobman_as_with_the_device_simulator(tmp_path):
    """QPY alone would drop the delays' unit (16 us becomes 16 dt), and P(1) would not decay."""
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    circuits = t1_sweep((0, 100, 400))
    result = JobManager(tmp_path, poll_interval=0.02).run(circuits, backend="fake_manila", shots=200,
                                                          seed=SEED).results()
    device = FakeManilaV2()
    manager = generate_preset_pass_manager(target=device.target, optimization_level=1, seed_transpiler=SEED)
    for index, circuit in enumerate(circuits):  # what the device's own simulator gives
        plain = device.run(manager.run(circuit), shots=200, seed_simulator=SEED + STRIDE * index,
                           memory=True).result().get_counts()
        assert result.get_counts(index) == plain, circuit.name
    ones = [result.get_counts(i).get("1", 0) / 200 for i in range(len(circuits))]
    assert ones[0] > 0.85 and ones[2] < ones[1] < ones[0] - 0.1 and ones[2] < 0.5, ones


def test_circuit_metadata_travels_with_each_result_on_aer_and_fake_devices(tmp_path, store_dir):
    circuits = t1_sweep((0, 50))
    for backend in ("aer", "fake_manila"):
        result = JobManager(tmp_path, poll_interval=0.02).run(circuits, backend=backend, shots=20,
                                                              seed=SEED).results()
        assert [c.metadata for c in result] == [c.metadata for c in circuits], backend
        assert result.circuit(1).to_dict()["metadata"] == {"xval": 50 * 1e-6}
    set_id = JobManager(store_dir).run(feature_circuits(), shots=8, seed=SEED).job_set_id()
    shown = json.loads(run_jobman("result", set_id, "--circuit", "metadata", "--json").stdout)
    assert shown["metadata"] == {"experiment_type": "T1", "xval": 1.5e-05, "qubits": [0], "tags": {"run": 3}}
    exported = [json.loads(line) for line in run_jobman("export", set_id, "--format", "jsonl").stdout.splitlines()]
    assert [row["metadata"] for row in exported] == [c.metadata for c in feature_circuits()]
