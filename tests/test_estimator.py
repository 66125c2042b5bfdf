"""``jobman.Estimator`` on real Aer: expectation values by measurement, within their standard errors
of the exact values (qiskit's StatevectorEstimator, qiskit-aer's EstimatorV2), broadcasting of
observables against values, the job API, precision, and a run picked up by name."""

from __future__ import annotations

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
    options.setdefault("seed", SEED)
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
