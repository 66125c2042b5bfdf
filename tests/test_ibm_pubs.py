"""Sweeps on IBM Quantum as PUB slices (jobman/backends/ibm_pubs.py): the real
qiskit-ibm-runtime client against the loopback stand-in uploads each circuit once per job with
its rows of values, and every point reads back in its place; on a fake device in local mode the
counts are the runtime Sampler's own on the same PUB."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

from ibm_standin.simulate import decode_params
from ibm_support import ibm_account, ibm_backend, ibm_standin, manager, no_account  # noqa: F401
from jobman.backends import RunOptions
from jobman.backends.ibm import SEED_STRIDE, IBMBackend
from jobman.backends.ibm_pubs import pubs_payload_bytes, sampler_pubs
from jobman.manager import JobManager
from jobman.status import SetState
from jobman.sweep import SweepPoint

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHOTS, SEED = 40, 7


def flips(qubits: int = 3) -> QuantumCircuit:
    """``rx(t_k)`` on qubit k, measured: values of 0 or pi give one outcome for certain."""
    theta = ParameterVector("t", qubits)
    circuit = QuantumCircuit(qubits, name="flips")
    for k, parameter in enumerate(theta):
        circuit.rx(parameter, k)
    circuit.measure_all()
    return circuit


def bit_values(*shape: int) -> np.ndarray:
    """Values of 0 or pi: point k flips the qubits of k's binary digits (mod 8)."""
    size = int(np.prod(shape))
    rows = [[np.pi * ((k % 8) >> q & 1) for q in range(3)] for k in range(size)]
    return np.array(rows).reshape(*shape, 3)


def expected(k: int) -> dict[str, int]:
    return {format(k % 8, "03b"): SHOTS}


def test_a_sweep_uploads_each_circuit_once_per_job_and_every_point_reads_back_in_place(
        store_dir, ibm_account):
    job_set = manager(store_dir).run([(flips(), bit_values(4, 5))], backend=ibm_backend(), shots=SHOTS,
                                     seed=SEED, chunk_size=8)
    assert job_set.status() is SetState.DONE, job_set.summary().failures
    result = job_set.results()
    assert [result.get_counts(k) for k in range(20)] == [expected(k) for k in range(20)]
    assert result.circuit(7).name == "flips[1,2]"
    uploads = [decode_params(job.params_raw)["pubs"] for job in ibm_account.jobs]
    assert [len(pubs) for pubs in uploads] == [1, 1, 1]  # one PUB per job, not a circuit per point
    assert [np.asarray(pubs[0][1]).shape for pubs in uploads] == [(8, 3), (8, 3), (4, 3)]
    assert np.array_equal(np.asarray(uploads[2][0][1]), bit_values(20)[16:])
    circuit = uploads[0][0][0]
    assert circuit.num_parameters == 3 and set(circuit.count_ops()) <= {"rz", "sx", "x", "cx", "measure",
                                                                       "barrier", "ecr", "id"}
    assert all(job_set._set.load_transpiled(c) == {} for c in range(3))  # no ISA copy per point


def test_a_job_holding_two_pubs_uploads_a_slice_of_each_in_order(store_dir, ibm_account):
    pubs = [(flips(), bit_values(3)), (flips(), bit_values(2)[::-1])]
    job_set = manager(store_dir).run(pubs, backend=ibm_backend(), shots=SHOTS, seed=SEED, chunk_size=5)
    uploads = [decode_params(job.params_raw)["pubs"] for job in ibm_account.jobs]
    assert [[np.asarray(pub[1]).shape for pub in job] for job in uploads] == [[(3, 3), (2, 3)]]
    result = job_set.results()
    assert [result.get_counts(k) for k in range(5)] == [expected(0), expected(1), expected(2),
                                                         expected(1), expected(0)]


def test_on_a_fake_device_the_points_get_the_runtime_sampler_s_own_counts(store_dir):
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import SamplerV2
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    values = np.random.default_rng(3).uniform(0, np.pi, (6, 3))
    job_set = JobManager(store_dir, poll_interval=0.02).run(
        [(flips(), values)], backend=IBMBackend("fake_manila"), shots=SHOTS, seed=SEED, chunk_size=4)
    assert job_set.status() is SetState.DONE
    device = FakeManilaV2()
    isa = generate_preset_pass_manager(optimization_level=1, target=device.target,
                                       seed_transpiler=SEED).run(flips())
    theirs = []
    for start, stop in ((0, 4), (4, 6)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            sampler = SamplerV2(mode=device)
        sampler.options.simulator.seed_simulator = SEED + SEED_STRIDE * start
        data = sampler.run([(isa, values[start:stop])], shots=SHOTS).result()[0].data.meas
        theirs += [data.get_counts(i) for i in range(stop - start)]
    result = job_set.results()
    assert [result.get_counts(k) for k in range(6)] == theirs


def test_pubs_group_consecutive_points_of_one_pub_and_size_the_upload():
    circuit, other = flips(), flips()
    points = [SweepPoint(circuit, (0.0, 1.0, 2.0), 0, (i,), f"flips[{i}]") for i in range(3)]
    points += [SweepPoint(other, (3.0, 4.0, 5.0), 1, (0,), "flips[0]")]
    pubs = sampler_pubs(points)
    assert [len(pub) for pub in pubs] == [2, 2] and pubs[0][0] is circuit
    assert pubs[0][1].shape == (3, 3) and pubs[1][1].tolist() == [[3.0, 4.0, 5.0]]
    bound = [point.bound() for point in points]
    assert pubs_payload_bytes(pubs) < pubs_payload_bytes(sampler_pubs(bound))  # the circuit goes once
    assert [len(pub) for pub in sampler_pubs(bound)] == [1, 1, 1, 1]


def test_a_sweep_s_circuit_is_transpiled_once_and_its_points_keep_their_values():
    backend = IBMBackend("fake_manila")
    circuit = flips()
    points = [SweepPoint(circuit, (0.1 * i, 0.2, 0.3), 0, (i,), f"flips[{i}]") for i in range(5)]
    prepared = backend.prepare(points, RunOptions(seed=SEED))
    assert len({id(point.circuit) for point in prepared}) == 1 and prepared[0].circuit is not circuit
    assert [point.values for point in prepared] == [point.values for point in points]
    assert [p.name for p in prepared[0].circuit.parameters] == ["t[0]", "t[1]", "t[2]"]


def test_a_dry_run_sizes_a_job_of_points_as_one_circuit_and_its_rows_of_values(tmp_path, store_dir):
    import json

    from typer.testing import CliRunner

    from conftest import write_qpy
    from jobman.cli import app

    values = np.random.default_rng(5).uniform(0, np.pi, (50, 3))
    np.save(tmp_path / "values.npy", values)
    source = write_qpy(tmp_path / "flips.qpy", [flips()])
    shown = CliRunner().invoke(app, ["run", str(source), "--parameters", str(tmp_path / "values.npy"),
                                     "--backend", "fake_manila", "--seed", str(SEED), "--dry-run", "--json"])
    assert shown.exit_code == 0, shown.stderr
    [job] = json.loads(shown.stdout)["jobs"]
    backend = IBMBackend("fake_manila")
    circuit = flips()
    points = [SweepPoint(circuit, tuple(row), 0, (i,), f"flips[{i}]") for i, row in enumerate(values)]
    sent = pubs_payload_bytes(sampler_pubs(backend.prepare(points, RunOptions(seed=SEED))))
    bound = pubs_payload_bytes(sampler_pubs(backend.prepare([p.bound() for p in points], RunOptions(seed=SEED))))
    assert sent <= job["upload_bytes"] <= 2 * sent < bound  # not a bound circuit's bytes per point


def test_the_executor_sampler_takes_the_slices_too(store_dir, ibm_account):
    job_set = manager(store_dir).run([(flips(), bit_values(2, 3))], backend=ibm_backend(sampler="executor"),
                                     shots=SHOTS, seed=SEED, chunk_size=4)
    assert job_set.status() is SetState.DONE, job_set.summary().failures
    assert [job_set.results().get_counts(k) for k in range(6)] == [expected(k) for k in range(6)]
    assert len(ibm_account.jobs) == 2


# ------------------------------------------------------------------ estimator tasks
def unmeasured_flips() -> QuantumCircuit:
    circuit = flips()
    circuit.remove_final_measurements()
    return circuit


#: Z on qubits 0 and 2 (Pauli strings read right to left): +1 or -1 by the point's bits.
Z_OBSERVABLES = [[SparsePauliOp("IIZ")], [SparsePauliOp.from_list([("ZII", 1.0), ("III", 0.5)])]]


def z_expected(k: int) -> list[float]:
    return [1.0 - 2 * ((k % 8) & 1), 1.0 - 2 * ((k % 8) >> 2 & 1) + 0.5]


def test_an_estimator_task_goes_to_the_runtime_estimator_as_pub_slices_on_the_device_s_qubits(
        store_dir, ibm_account):
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    pub = EstimatorPub.coerce((unmeasured_flips(), Z_OBSERVABLES, bit_values(7), 0.01))
    job_set = manager(store_dir).run([pub], backend=ibm_backend(),
                                     seed=SEED, chunk_size=4)
    assert job_set.status() is SetState.DONE, job_set.summary().failures
    assert [job.program_id for job in ibm_account.jobs] == ["estimator", "estimator"]
    uploads = [decode_params(job.params_raw)["pubs"] for job in ibm_account.jobs]
    assert [len(pubs) for pubs in uploads] == [1, 1]
    assert [np.asarray(pubs[0][2]).shape for pubs in uploads] == [(4, 3), (3, 3)]
    assert [pubs[0][3] for pubs in uploads] == [0.01, 0.01]
    data = job_set.results().to_primitive_result()[0].data
    assert data.evs.shape == (2, 7)
    wanted = np.array([z_expected(k) for k in range(7)]).T
    assert np.all(np.abs(data.evs - wanted) < 0.06), data.evs  # 6 sigma of the precision
    assert np.all(data.stds == 0.01)


def test_on_a_fake_device_the_values_are_the_runtime_estimator_s_own(store_dir):
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import EstimatorV2
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    values = np.random.default_rng(4).uniform(0, np.pi, (5, 3))
    pub = EstimatorPub.coerce((unmeasured_flips(), Z_OBSERVABLES, values, 0.05))
    job_set = JobManager(store_dir, poll_interval=0.02).run([pub], backend=IBMBackend("fake_manila"),
                                                            seed=SEED, chunk_size=3)
    assert job_set.status() is SetState.DONE, job_set.summary().failures
    device = FakeManilaV2()
    isa = generate_preset_pass_manager(optimization_level=1, target=device.target,
                                       seed_transpiler=SEED).run(unmeasured_flips())
    observables = [[op.apply_layout(isa.layout)] for [op] in Z_OBSERVABLES]
    evs, stds = [], []
    for start, stop in ((0, 3), (3, 5)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            estimator = EstimatorV2(mode=device)
        estimator.options.simulator.seed_simulator = SEED + SEED_STRIDE * start
        data = estimator.run([(isa, observables, values[start:stop], 0.05)]).result()[0].data
        evs.append(data.evs)
        stds.append(data.stds)
    ours = job_set.results().to_primitive_result()[0].data
    assert np.array_equal(ours.evs, np.concatenate(evs, axis=1))
    assert np.array_equal(ours.stds, np.concatenate(stds, axis=1))


def test_jobman_estimator_on_a_fake_device_runs_the_task_with_the_runtime_s_default_precision(store_dir):
    import jobman

    estimator = jobman.Estimator(backend="fake_manila", manager=JobManager(store_dir, poll_interval=0.02),
                                 seed=SEED)
    assert not estimator.by_measurement and estimator.default_precision == 0.015625
    result = estimator.run([(unmeasured_flips(), Z_OBSERVABLES, bit_values(3))]).result()
    assert result[0].data.evs.shape == (2, 3) and np.all(result[0].data.stds > 0)
    wanted = np.array([z_expected(k) for k in range(3)]).T
    assert np.all(np.abs(result[0].data.evs - wanted) < 0.35)  # fake_manila's noise, not a wrong qubit


def test_observables_paired_with_points_are_estimated_only_where_the_result_takes_them(
        store_dir, ibm_account):
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    flat = [SparsePauliOp("IIZ"), SparsePauliOp("ZII")]  # observable k with point k
    values = bit_values(8)[[1, 4]]  # point 0 flips qubit 0, point 1 qubit 2: both read -1
    pub = EstimatorPub.coerce((unmeasured_flips(), flat, values, 0.01))
    job_set = manager(store_dir).run([pub], backend=ibm_backend(), seed=SEED)
    assert job_set.status() is SetState.DONE, job_set.summary().failures
    [upload] = [decode_params(job.params_raw)["pubs"] for job in ibm_account.jobs]
    assert np.asarray(upload[0][1]).shape == (1, 2)  # one observable a point, not both at both
    data = job_set.results().to_primitive_result()[0].data
    assert data.evs.shape == (2,) and np.all(np.abs(data.evs - [-1.0, -1.0]) < 0.06), data.evs
    lines = [job_set._set.read_results(0)[k] for k in range(2)]
    assert [line["evs"][1 - k] for k, line in enumerate(lines)] == [None, None]  # not estimated
    from typer.testing import CliRunner

    from jobman.cli import app

    rows = CliRunner().invoke(app, ["export", job_set.job_set_id(), "--format", "csv"],
                              env={"JOBMAN_HOME": str(store_dir)}).stdout.splitlines()
    assert [row.split(",")[3] for row in rows[1:]] == ["0", "1"]  # a row per value taken


def test_an_estimator_job_s_usage_estimate_counts_the_shots_its_precision_takes(store_dir, ibm_account):
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    from jobman.backends.ibm_usage import JOB_OVERHEAD_SECONDS

    pub = EstimatorPub.coerce((unmeasured_flips(), Z_OBSERVABLES, bit_values(4), 0.01))
    backend = ibm_backend()
    job_set = manager(store_dir).run([pub], backend=backend, seed=SEED, chunk_size=4)
    assert job_set.status() is SetState.DONE, job_set.summary().failures
    [attempt] = job_set._set.chunk(0).attempts
    point = SweepPoint(unmeasured_flips(), (0.0, 0.0, 0.0), 0, (0,), "flips[0]", ((("IIZ", 1.0),),
                       (("ZII", 1.0), ("III", 0.5))), 0.01)
    per_shot = backend.seconds_per_shot(backend.prepare([point], RunOptions(seed=SEED))[0])
    shots = 10_000 * 2  # ceil(1 / 0.01**2) for each of ZII and IIZ (identity needs no shots)
    assert point.shots(1024) == shots
    assert attempt.estimate_seconds == pytest.approx(JOB_OVERHEAD_SECONDS + 4 * shots * per_shot, rel=1e-6)


def test_a_slice_that_ran_too_long_goes_again_as_two_half_slices_read_back_in_place(
        store_dir, ibm_account):
    ibm_account.fail_next_jobs(1, code=1305, message="Ran too long", tag="jobman-chunk:0")
    job_set = manager(store_dir).run([(flips(), bit_values(12))], backend=ibm_backend(), shots=SHOTS,
                                     seed=SEED, chunk_size=8)
    assert job_set.status() is SetState.DONE, job_set.summary().failures
    result = job_set.results()
    assert [result.get_counts(k) for k in range(12)] == [expected(k) for k in range(12)]
    uploads = [np.asarray(decode_params(job.params_raw)["pubs"][0][1]) for job in ibm_account.jobs]
    assert np.array_equal(uploads[0], bit_values(12)[:8])  # chunk 0, then its halves and chunk 1
    later = sorted(u.tobytes() for u in uploads[1:])
    assert later == sorted(bit_values(12)[a:a + 4].tobytes() for a in (0, 4, 8))


def test_a_slice_that_failed_for_good_fails_its_points_alone_and_retry_runs_them(store_dir, ibm_account):
    ibm_account.fail_next_jobs(1, code=1517, message="Error in job execution.", tag="jobman-chunk:1")
    pub = (flips(), bit_values(12))
    job_set = manager(store_dir).run([pub], backend=ibm_backend(), shots=SHOTS, seed=SEED, chunk_size=4)
    [failure] = job_set.summary().failures
    assert (failure["start"], failure["stop"]) == (4, 8) and "Error code 1517" in failure["reason"]
    result = job_set.results()
    assert [result.get_counts(k) for k in (*range(4), *range(8, 12))] == \
        [expected(k) for k in (*range(4), *range(8, 12))]
    assert [result.circuit(k).status.value for k in range(4, 8)] == ["ERROR"] * 4

    again = manager(store_dir).retry(job_set.job_set_id(), backend=ibm_backend())
    assert again.status() is SetState.DONE
    assert [again.results().get_counts(k) for k in range(12)] == [expected(k) for k in range(12)]
    retried = np.asarray(decode_params(ibm_account.jobs[-1].params_raw)["pubs"][0][1])
    assert np.array_equal(retried, bit_values(12)[4:8])  # the failed slice alone, as one PUB


def test_ibm_chunks_of_points_are_sized_by_their_slices_not_by_bound_circuits(store_dir, ibm_account):
    from jobman.manager import task_source
    from jobman.plan import chunk_size_for, payload_per_circuit, payload_per_point

    cap = 20_000
    values = np.random.default_rng(5).uniform(0, np.pi, (400, 3))
    job_set = manager(store_dir).run([(flips(), values)], backend=ibm_backend(max_payload=cap), shots=SHOTS,
                                     seed=SEED)
    assert job_set.status() is SetState.DONE, job_set.summary().failures
    bound = ibm_backend(max_payload=cap)
    bound.runs_sweeps = False  # how points were sized before: each as a bound circuit
    with task_source(job_set._set, verify=False) as points:
        assert payload_per_point(points, bound) is None
        by_bound = chunk_size_for(400, SHOTS, bound.limits(), None, payload_per_circuit(points, bound))
    record = job_set._set.record
    assert record.chunk_size > 4 * by_bound  # many more points a job than bound copies allow
    uploads = [len(job.params_raw) for job in ibm_account.jobs]
    assert len(uploads) == record.num_chunks and max(uploads) <= cap  # sized right: none was split
    result = job_set.results()
    assert all(sum(result.get_counts(k).values()) == SHOTS for k in range(400))
