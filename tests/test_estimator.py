"""``jobman.Estimator`` on real Aer with ``by_measurement=True``: expectation values by measurement, within their standard errors
of the exact values (qiskit's StatevectorEstimator, qiskit-aer's EstimatorV2), broadcasting of
observables against values, the job API, precision, and a run picked up by name."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import BaseEstimatorV2, StatevectorEstimator
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.primitives import EstimatorV2

import jobman
from jobman.exceptions import UsageError
from jobman.manager import JobManager
from jobman.store import Store

SEED = 5


def circuit() -> QuantumCircuit:
    """Three qubits, two parameters; qubit 2 ends in |+i> (Y = +1 exactly)."""
    theta = ParameterVector("t", 2)
    built = QuantumCircuit(3)
    built.ry(theta[0], 0)
    built.rx(theta[1], 1)
    built.cx(0, 1)
    built.h(2)
    built.s(2)
    return built


OBSERVABLES = [[SparsePauliOp.from_list([("ZZI", 1), ("IXI", 0.5), ("III", 2)])], [SparsePauliOp("YII")],
               [SparsePauliOp.from_list([("XZY", 0.3), ("ZIZ", -1)])]]


def estimator(store_dir, **options) -> jobman.Estimator:
    """By measurement unless told otherwise (the exact path on Aer: the tests further down)."""
    options.setdefault("seed", SEED)
    options.setdefault("by_measurement", True)
    return jobman.Estimator(manager=JobManager(store_dir, poll_interval=0.05), **options)


def test_values_are_the_exact_ones_within_their_standard_errors(store_dir):
    values = np.random.default_rng(0).uniform(0, 3, (4, 2))
    pubs = [(circuit(), OBSERVABLES, values), (circuit(), "ZZZ", values[0])]
    estimator_ = estimator(store_dir, default_precision=0.02, chunk_size=3)
    assert isinstance(estimator_, BaseEstimatorV2)
    job = estimator_.run(pubs)
    ours = job.result()
    assert job.status() is JobStatus.DONE and job.done() and job.in_final_state()
    for exact in (StatevectorEstimator().run(pubs).result(), EstimatorV2().run(pubs).result()):
        for mine, ref in zip(ours, exact):
            assert mine.data.evs.shape == ref.data.evs.shape == mine.data.stds.shape
            assert np.all(np.abs(mine.data.evs - ref.data.evs) <= 5 * mine.data.stds + 1e-12)
    assert ours[0].data.evs.shape == (3, 4) and np.all(ours[0].data.evs[1] == 1) and np.all(ours[0].data.stds[1] == 0)
    assert ours[0].metadata["shots"] == 2500 and 0 < ours[0].data.stds[0, 0] < 0.05
    assert ours.metadata["job_set_id"] == job.job_id() == job.sampler_job.job_set.job_set_id()


def test_a_run_again_with_the_same_name_picks_the_set_up_and_gives_the_same_values(store_dir):
    pubs = [(circuit(), OBSERVABLES, [[0.1, 0.2], [0.3, 0.4]])]
    first = estimator(store_dir, name="energy").run(pubs, precision=0.05)
    evs = first.result()[0].data.evs
    again = estimator(store_dir, name="energy").run([(circuit(), OBSERVABLES, [[0.1, 0.2], [0.3, 0.4]])],
                                                    precision=0.05)
    assert again.job_id() == first.job_id() and again.metadata["picked_up"]
    assert np.array_equal(again.result()[0].data.evs, evs)
    other = estimator(store_dir, name="energy").run(pubs, precision=0.04)
    assert other.job_id() != first.job_id() and other.result()[0].metadata["shots"] == 625
    assert len(Store(store_dir).set_ids()) == 2


def test_bad_pubs_are_refused_before_anything_is_stored(store_dir):
    measured = circuit().assign_parameters([0, 0])
    measured.measure_all()
    cases = [([(circuit(), "ZZZ", [0, 0], 0.1), (circuit(), "ZZZ", [0, 0], 0.2)], "one precision per run"),
             ([(measured, "ZZZ")], "the circuit measures"),
             ([(circuit(), "ZZ", [0, 0])], "PUB 0: "),
             ([(circuit(), "III", [0, 0])], "nothing to measure")]
    for pubs, message in cases:
        with pytest.raises(UsageError, match=message):
            estimator(store_dir).run(pubs)
    with pytest.raises(UsageError, match="precision must be a positive number"):
        estimator(store_dir).run([(circuit(), "ZZZ", [0, 0])], precision=0)
    assert not store_dir.exists() or not Store(store_dir).set_ids()


# the exact path on Aer: an estimator task ---------------------------------------------------
def bell() -> QuantumCircuit:
    built = QuantumCircuit(2, name="bell")
    built.h(0)
    built.cx(0, 1)
    return built


def exact_pubs() -> list:
    """Several circuits, several observables, broadcasting (3, 1) x (4,) and (3,) x ()."""
    values = np.random.default_rng(1).uniform(0, 3, (4, 2))
    return [(circuit(), OBSERVABLES, values), (circuit(), "ZZZ", values[0]), (bell(), ["ZZ", "XX", "YY"])]


def exact(store_dir, **options) -> jobman.Estimator:
    options.setdefault("seed", SEED)
    return jobman.Estimator(manager=JobManager(store_dir, poll_interval=0.05), **options)


def assert_same(ours, theirs) -> None:
    assert len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs):
        assert mine.data.shape == ref.data.shape == mine.data.evs.shape == mine.data.stds.shape
        assert np.array_equal(mine.data.evs, ref.data.evs) and np.array_equal(mine.data.stds, ref.data.stds)
        assert mine.metadata["target_precision"] == ref.metadata["target_precision"]


def test_on_aer_the_values_are_qiskit_aer_estimator_v2_s_bit_for_bit(store_dir):
    job = exact(store_dir, chunk_size=3).run(exact_pubs())
    ours = job.result()
    assert job.status() is JobStatus.DONE and ours[0].data.evs.shape == (3, 4)
    assert_same(ours, EstimatorV2().run(exact_pubs()).result())
    assert np.allclose(ours[0].data.evs[1], 1) and np.all(ours[0].data.stds == 0)
    noisy = exact(store_dir, chunk_size=2).run(exact_pubs(), precision=0.1).result()
    seeded = EstimatorV2(options={"run_options": {"seed_simulator": SEED}})
    assert_same(noisy, seeded.run(exact_pubs(), precision=0.1).result())
    set_store = Store(store_dir).open_set(job.job_id())
    pubs = set_store.record.sweep["pubs"]
    assert [p["shape"] for p in pubs] == [[4], [], []] and [p["observables"] for p in pubs] == [[3, 1], [], [3]]
    observables = json.loads((set_store.paths.folder / "inputs" / "observables.json").read_text())
    assert observables["pubs"][2]["terms"] == [[["ZZ", 1.0]], [["XX", 1.0]], [["YY", 1.0]]]
    assert set_store.read_results(0)[0]["evs"] and set_store.read_results(0)[0]["counts"] == {}


def test_an_interrupted_estimator_task_is_picked_up_by_name_and_runs_only_what_is_missing(store_dir):
    from jobman.estimator_input import coerce_estimator_pubs  # noqa: F401  (the task's inputs)
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    def stop_after_chunk_1(record) -> None:
        if record.index == 1 and record.status == "DONE":
            raise KeyboardInterrupt

    estimator_ = exact(store_dir, name="vqe", chunk_size=2, max_in_flight=1)
    pubs = [EstimatorPub.coerce(pub, 0.0) for pub in exact_pubs()]
    digest = estimator_._digest(pubs)
    with pytest.raises(jobman.exceptions.Interrupted):
        estimator_.sampler.manager.run(pubs, "aer", seed=SEED, chunk_size=2, name="vqe", max_in_flight=1,
                                       tags={"jobman.sampler.inputs": digest}, on_change=stop_after_chunk_1)
    first = Store(store_dir).open_set(None)
    assert [c.status for c in first.chunks()][:2] == ["DONE", "DONE"] and first.chunks()[-1].status != "DONE"
    job = exact(store_dir, name="vqe", chunk_size=2).run(exact_pubs())
    assert job.job_id() == first.id and job.metadata["picked_up"]
    assert_same(job.result(), EstimatorV2().run(exact_pubs()).result())
    assert len(Store(store_dir).open_set(first.id).chunk(0).attempts) == 1  # not run again


def test_a_pub_that_cannot_run_fails_alone_with_its_reason(store_dir):
    from jobman.pub_data import read_pub

    wide = QuantumCircuit(40, name="wide")
    wide.h(range(40))
    wide.t(range(40))  # not Clifford: a statevector of 40 qubits, more memory than there is
    job = exact(store_dir).run([(bell(), "ZZ"), (wide, "Z" * 40)])
    with pytest.raises(jobman.exceptions.JobmanError, match="did not end DONE"):
        job.result()
    set_store = Store(store_dir).open_set(job.job_id())
    done, failed = read_pub(set_store, 0), read_pub(set_store, 1)
    assert done.status.value == "DONE" and done.evs.tolist() == 1.0
    assert failed.status.value == "ERROR" and "Insufficient memory" in failed.errors[0]["error"] and failed.evs is None


def test_estimator_tasks_need_a_backend_that_computes_expectation_values(store_dir):
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    basic = "provider:qiskit.providers.basic_provider:BasicSimulator"
    with pytest.raises(UsageError, match="does not compute expectation values"):
        JobManager(store_dir).run([EstimatorPub.coerce((bell(), "ZZ"))], basic)
    with pytest.raises(UsageError, match="backend fake_manila estimates expectation values by sampling"):
        JobManager(store_dir).run([EstimatorPub.coerce((bell(), "ZZ"))], "fake_manila")  # precision 0
    with pytest.raises(UsageError, match="precision must be a finite number, 0 or more"):
        exact(store_dir).run([(bell(), "ZZ")], precision=-1)
    assert not store_dir.exists() or not Store(store_dir).set_ids()


def test_on_any_executor_the_values_are_the_local_ones(store_dir):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        manager = JobManager(store_dir, executor=pool, poll_interval=0.05)
        ours = jobman.Estimator(manager=manager, seed=SEED, chunk_size=2).run(exact_pubs()).result()
    assert_same(ours, EstimatorV2().run(exact_pubs()).result())


def test_with_a_noise_model_the_values_are_still_qiskit_aer_s(store_dir):
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    pubs = [(bell(), ["ZZ", "XX"])] + exact_pubs()[:1]
    ours = exact(store_dir, chunk_size=3, noise_model=noise).run(pubs).result()
    theirs = EstimatorV2(options={"backend_options": {"noise_model": noise},
                                  "run_options": {"seed_simulator": SEED}}).run(pubs).result()
    assert_same(ours, theirs)
    assert np.allclose(ours[0].data.evs, [0.95, 0.95])  # the noise shows: 1 - p for a depolarized Bell pair
