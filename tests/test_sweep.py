"""Sampler PUB sweeps on real Aer: per-point counts as qiskit-aer's SamplerV2 gives them, seeds
independent of chunking, broadcasting, several circuits, bad values refused, resume after a kill."""

from __future__ import annotations

import hashlib
import signal

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit_aer.primitives import SamplerV2
from typer.testing import CliRunner

from conftest import run_jobman, write_qpy
from jobman.cli import app
from jobman.exceptions import UsageError
from jobman.manager import JobManager
from jobman.result import ManagedResult
from jobman.store import Store
from test_resume_kill import jobman_at

SHOTS, SEED = 64, 11
runner = CliRunner()


def ansatz(parameters: int = 3, name: str = "ansatz") -> QuantumCircuit:
    """A small entangling ansatz of 3 qubits with ``parameters`` parameters, measured."""
    theta = ParameterVector("t", parameters)
    circuit = QuantumCircuit(3, name=name)
    for k, param in enumerate(theta):
        (circuit.ry if k % 2 == 0 else circuit.rx)(param, k % 3)
        circuit.cx(k % 3, (k + 1) % 3)
    circuit.measure_all()
    return circuit


def values(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, np.pi, shape)


def point_counts(result: ManagedResult) -> list[dict[str, int]]:
    return [result.get_counts(i) for i in range(len(result))]


def test_points_match_qiskit_aer_sampler_v2_bit_for_bit(store_dir):
    circuit, grid = ansatz(), values(2, 3, 3)
    pubs = [(circuit, grid), ansatz(4, "wide")]
    with pytest.raises(UsageError, match="PUB 1: The number of values"):
        JobManager(store_dir).run(pubs, shots=SHOTS, seed=SEED)
    plain = QuantumCircuit(3, name="plain")
    plain.x(1)
    plain.measure_all()
    pubs = [(circuit, grid), (ansatz(4, "four"), values(5, 4, seed=1)), plain]
    result = JobManager(store_dir).run(pubs, shots=SHOTS, seed=SEED, chunk_size=4, memory=True).results()
    assert len(result) == 6 + 5 + 1
    assert result.circuit(4).name == "ansatz[1,1]" and result.circuit(11).name == "plain"
    assert result.get_counts("plain") == {"010": SHOTS}
    ours = result.to_primitive_result()
    theirs = SamplerV2(seed=SEED).run(pubs, shots=SHOTS).result()
    assert len(ours) == 3
    for mine, ref in zip(ours, theirs):
        assert mine.data.meas.shape == ref.data.meas.shape
        assert np.array_equal(mine.data.meas.array, ref.data.meas.array)  # shots in order: --memory
    # point 7 of the task is point 1 of the second PUB
    assert result.get_counts(7) == theirs[1].data.meas.get_counts(1)


def test_samples_depend_on_the_seed_and_the_point_only(store_dir):
    circuit, grid = ansatz(), values(12, 3)
    manager = JobManager(store_dir)
    runs = [point_counts(manager.run([(circuit, grid)], shots=SHOTS, seed=SEED, chunk_size=k).results())
            for k in (5, 12)]
    bound = [circuit.assign_parameters(row) for row in grid]
    runs.append(point_counts(manager.run(bound, shots=SHOTS, seed=SEED, chunk_size=7).results()))
    assert runs[0] == runs[1] == runs[2]
    other = point_counts(manager.run([(circuit, grid)], shots=SHOTS, seed=SEED + 1).results())
    assert other != runs[0]


def test_broadcast_values_and_the_primitive_result_shape(store_dir):
    circuit = ansatz(2)
    first, second = circuit.parameters
    given = {first: np.linspace(0, 1, 4)[:, None] * np.ones((4, 3)), second: np.ones((4, 3))}
    result = JobManager(store_dir).run([(circuit, given)], shots=SHOTS, seed=SEED, chunk_size=5).results()
    ours = result.to_primitive_result()[0].data.meas
    theirs = SamplerV2(seed=SEED).run([(circuit, given)], shots=SHOTS).result()[0].data.meas
    assert ours.shape == theirs.shape == (4, 3)
    assert ours.num_shots == SHOTS
    for index in np.ndindex(4, 3):
        assert ours.get_counts(index) == theirs.get_counts(index)
    assert np.array_equal(np.sort(ours.array, axis=-2), np.sort(theirs.array, axis=-2))


def test_per_pub_shots_other_than_the_task_s_are_refused(store_dir):
    circuit = ansatz()
    with pytest.raises(UsageError, match="per-PUB shots are not supported"):
        JobManager(store_dir).run([(circuit, values(2, 3), 10)], shots=SHOTS)
    result = JobManager(store_dir).run([(circuit, values(2, 3), SHOTS)], shots=SHOTS, seed=SEED).results()
    assert sum(result.get_counts(1).values()) == SHOTS
    assert not [p for p in store_dir.iterdir() if p.name.startswith(".") and p.name != ".catalogue.db"]


def test_the_set_keeps_the_circuit_once_and_the_values_once(store_dir):
    circuit, grid = ansatz(), values(30, 3)
    job_set = JobManager(store_dir).run([(circuit, grid)], shots=SHOTS, seed=SEED, chunk_size=7)
    folder = job_set.set_store.paths.folder
    stored = np.load(folder / "inputs" / "parameters.npz", allow_pickle=False)
    assert np.array_equal(stored["pub-0"], grid)
    from qiskit import qpy
    with open(folder / "inputs" / "circuits.qpy", "rb") as handle:
        assert len(qpy.load(handle)) == 1
    assert not (folder / "transpiled").exists()
    from jobman.records import SWEEP_FORMAT_VERSION
    assert job_set.set_store.record.format_version == SWEEP_FORMAT_VERSION  # refused by older readers


@pytest.fixture
def files(tmp_path):
    circuit = ansatz()
    np.save(tmp_path / "values.npy", values(4, 5, 3))
    np.save(tmp_path / "three.npy", values(6, 2))
    np.save(tmp_path / "nan.npy", np.array([[0.1, np.nan, 0.2]]))
    np.save(tmp_path / "text.npy", np.array([["a", "b", "c"]]))
    np.save(tmp_path / "pickled.npy", np.array([{"t": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "keyed.npz", ansatz=values(3, 3), **{"2": values(2, 4, seed=3)})
    np.savez(tmp_path / "unknown.npz", nobody=values(3, 3))
    write_qpy(tmp_path / "several.qpy", [circuit, ansatz(2, "unswept"), ansatz(4, "four")])
    return {"ansatz": write_qpy(tmp_path / "ansatz.qpy", circuit), "dir": tmp_path}


def test_cli_parameters_file_and_several_circuits(files, store_dir):
    folder = files["dir"]
    done = runner.invoke(app, ["run", str(files["ansatz"]), "--parameters", str(folder / "values.npy"),
                               "--shots", str(SHOTS), "--seed", str(SEED), "-k", "6"])
    assert done.exit_code == 0, done.stderr
    result = Store(store_dir).open_set(None)
    counts = point_counts(ManagedResult(result))
    theirs = SamplerV2(seed=SEED).run([(ansatz(), values(4, 5, 3))], shots=SHOTS).result()[0].data.meas
    assert counts == [theirs.get_counts(index) for index in np.ndindex(4, 5)]
    done = runner.invoke(app, ["run", str(folder / "several.qpy"), "--parameters", str(folder / "keyed.npz"),
                               "--shots", str(SHOTS), "--seed", str(SEED), "-k", "4"])
    assert done.exit_code == 3  # the unswept circuit with parameters fails alone
    result = ManagedResult(Store(store_dir).open_set(None))
    assert len(result) == 3 + 1 + 2
    assert result.circuit(3).name == "unswept" and "unbound parameters" in result.circuit(3).error
    assert [result.circuit(i).status.value for i in (0, 1, 2, 4, 5)] == ["DONE"] * 5
    assert result.circuit(5).name == "four[1]"


@pytest.mark.parametrize("given,inputs,message", [
    ("three.npy", "ansatz", "--parameters {d}/three.npy: circuit 0 (ansatz) has 3 parameters, but its "
                            "values have 2 (shape (6, 2), expected (..., 3))"),
    ("nan.npy", "ansatz", "--parameters {d}/nan.npy: parameter values must be finite (found NaN or infinity)"),
    ("text.npy", "ansatz", "--parameters {d}/text.npy: parameter values must be real numbers, not <U1"),
    ("pickled.npy", "ansatz", "--parameters {d}/pickled.npy: holds pickled objects; give an array of "
                              "numbers (numpy.save of a float array)"),
    ("values.npy", "several", "--parameters {d}/values.npy: an .npy array is for one circuit, but the "
                              "inputs hold 3; give an .npz keyed by circuit name or index"),
    ("unknown.npz", "several", "--parameters {d}/unknown.npz: key 'nobody': no circuit has that name or index"),
])
def test_bad_values_are_one_error_line_exit_2_and_nothing_stored(files, store_dir, given, inputs, message):
    folder = files["dir"]
    path = folder / f"{inputs}.qpy"
    done = runner.invoke(app, ["run", str(path), "--parameters", str(folder / given)])
    assert (done.exit_code, done.stderr) == (2, f"Error: {message.format(d=folder)}\n")
    assert not store_dir.exists() or not [p for p in store_dir.iterdir() if p.name != "lock"]


def test_resume_after_a_kill_reruns_only_what_is_missing_and_checks_the_values(files, store_dir):
    folder = files["dir"]
    args = ["run", str(files["ansatz"]), "--parameters", str(folder / "values.npy"), "--shots", str(SHOTS),
            "--seed", str(SEED), "--chunk-size", "3"]
    child = jobman_at("DONE", 2, *args)
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    set_store = Store(store_dir).open_set(None)
    before = [c.status for c in set_store.chunks()]
    assert before[2] == "DONE" and before != ["DONE"] * len(before)  # chunks end in any order
    values_file = set_store.paths.folder / "inputs" / "parameters.npz"
    kept = values_file.read_bytes()
    values_file.write_bytes(kept[:-1] + bytes([kept[-1] ^ 1]))
    refused = run_jobman("resume", set_store.id)
    assert refused.returncode == 1
    assert refused.stderr == f"Error: parameter values changed since the job set was created: {values_file}\n"
    values_file.write_bytes(kept)
    assert hashlib.sha256(values_file.read_bytes()).hexdigest() == set_store.record.sweep["values"]["sha256"]
    done = run_jobman("resume", set_store.id)
    assert done.returncode == 0, done.stderr
    set_store = Store(store_dir).open_set(None)
    assert [len(c.attempts) for c, was in zip(set_store.chunks(), before) if was == "DONE"] == \
        [1] * before.count("DONE")  # not run again
    theirs = SamplerV2(seed=SEED).run([(ansatz(), values(4, 5, 3))], shots=SHOTS).result()[0].data.meas
    assert point_counts(ManagedResult(set_store)) == [theirs.get_counts(i) for i in np.ndindex(4, 5)]


def test_backends_without_a_sweep_path_run_bound_points(store_dir):
    circuit, grid = ansatz(), values(3, 3)
    manager = JobManager(store_dir)
    basic = "provider:qiskit.providers.basic_provider:BasicSimulator"  # runs bound circuits only
    swept = manager.run([(circuit, grid)], backend=basic, shots=SHOTS, seed=SEED).results()
    bound = [circuit.assign_parameters(row) for row in grid]
    direct = manager.run(bound, backend=basic, shots=SHOTS, seed=SEED).results()
    assert point_counts(swept) == point_counts(direct)
    assert swept.circuit(2).name == "ansatz[2]"


def test_a_point_aer_cannot_run_fails_alone_and_the_others_keep_their_seeds():
    from qiskit_aer import AerSimulator

    from jobman.backends.aer_chunk import SEED_STRIDE, run_sweep

    circuit, grid = ansatz(), values(5, 3).tolist()
    broken = [*grid[:2], grid[2][:2], *grid[3:]]  # point 2 has a value missing
    simulator = AerSimulator()
    outcomes = run_sweep(simulator, circuit, broken, {"shots": SHOTS, "seed_simulator": 100})
    assert [o.status.value for o in outcomes] == ["DONE", "DONE", "ERROR", "DONE", "DONE"]
    assert outcomes[2].error.startswith("Aer cannot run this point: ValueError")
    for k in (0, 1, 3, 4):
        alone = simulator.run(circuit.assign_parameters(grid[k]), shots=SHOTS,
                              seed_simulator=100 + SEED_STRIDE * k).result()
        assert {hex(int(key, 2)): n for key, n in alone.get_counts().items()} == outcomes[k].counts


def test_a_sweep_on_any_executor_gives_the_local_counts(store_dir):
    from concurrent.futures import ThreadPoolExecutor

    circuit, grid = ansatz(), values(9, 3)
    local = JobManager(store_dir).run([(circuit, grid)], shots=SHOTS, seed=SEED, chunk_size=4).results()
    with ThreadPoolExecutor(2) as pool:
        elsewhere = JobManager(store_dir, executor=pool).run([(circuit, grid)], shots=SHOTS, seed=SEED,
                                                              chunk_size=5).results()
    assert point_counts(elsewhere) == point_counts(local)


def test_a_dry_run_plans_the_points_and_stores_nothing(files, store_dir):
    folder = files["dir"]
    done = runner.invoke(app, ["run", str(files["ansatz"]), "--parameters", str(folder / "values.npy"),
                               "--dry-run", "--json", "-k", "8", "--shots", "10"])
    assert done.exit_code == 0, done.stderr
    import json
    plan = json.loads(done.stdout)
    assert (plan["total"], plan["num_chunks"], plan["executions"]) == (20, 3, 200)
    assert plan["sample"][1]["name"] == "ansatz[0,2]" and plan["sample"][1]["problem"] is None
    assert not store_dir.exists() or not list(store_dir.iterdir())


def test_a_sweep_set_is_always_store_format_2(store_dir, first_format):
    # with JOBMAN_STORE_FORMAT=1 (new sets in files, for an older jobman): an older jobman would
    # take a sweep's points for circuits, and it refuses format 2
    from jobman.records import SWEEP_FORMAT_VERSION

    sweep = JobManager(store_dir).run([(ansatz(), values(2, 3))], shots=SHOTS, seed=SEED)
    plain = JobManager(store_dir).run([ansatz().assign_parameters(values(3))], shots=SHOTS, seed=SEED)
    assert Store(store_dir).open_set(sweep.job_set_id()).record.format_version == SWEEP_FORMAT_VERSION == 2
    assert Store(store_dir).open_set(plain.job_set_id()).record.format_version == 1


def test_used_observables_says_which_observables_a_broadcast_result_takes_at_each_point():
    from jobman.sweep import used_observables

    assert used_observables((2, 1), (3,)) is None  # every observable at every point
    assert used_observables((3,), ()) is None
    assert used_observables((2,), (2,)) == ((0,), (1,))  # observable k with point k
    assert used_observables((2, 3), (3,)) == ((0, 3), (1, 4), (2, 5))
    assert used_observables((2, 1), (2, 3)) == ((0,), (0,), (0,), (1,), (1,), (1,))
    theirs = np.broadcast_to(np.arange(6).reshape(2, 3), (2, 3))  # what EstimatorV2 pairs, by hand
    assert [sorted(theirs[:, j]) for j in range(3)] == [list(row) for row in used_observables((2, 3), (3,))]
