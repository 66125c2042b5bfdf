"""``jobman.Sampler`` as a V2 sampler on real Aer: the samples of qiskit-aer's SamplerV2 at the same
seed, the job API, shots, and a script run again after a kill picking its set up without running
a chunk twice; a qiskit-experiments experiment run through it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.primitives import BasePrimitiveJob, BaseSamplerV2, PrimitiveResult
from qiskit.providers import JobStatus
from qiskit_aer.primitives import SamplerV2

import jobman
from conftest import run_jobman
from jobman.backends.aer import AerBackend
from jobman.exceptions import UsageError
from jobman.manager import JobManager
from jobman.sampler import DIGEST_TAG
from jobman.store import Store
from test_sweep import ansatz, values
from workloads import FEATURES

SHOTS, SEED = 64, 11
WAIT = 120


def sampler(store_dir, **options) -> jobman.Sampler:
    options.setdefault("seed", SEED)
    return jobman.Sampler(manager=JobManager(store_dir, poll_interval=0.05), **options)


def assert_same_samples(ours: PrimitiveResult, theirs: PrimitiveResult) -> None:
    assert len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs):
        assert sorted(mine.data.keys()) == sorted(ref.data.keys())
        for key in ref.data.keys():
            assert mine.data[key].shape == ref.data[key].shape
            assert np.array_equal(mine.data[key].array, ref.data[key].array), key  # shot for shot


def test_samples_are_qiskit_aer_sampler_v2_s_at_the_same_seed(store_dir):
    circuit = ansatz(2)
    first, second = circuit.parameters
    broadcast = {first: np.linspace(0, 1, 4)[:, None] * np.ones((4, 3)), second: np.ones((4, 3))}
    pubs = [(ansatz(), values(2, 3, 3)), (circuit, broadcast), FEATURES["several_registers"]()]
    sampler_ = sampler(store_dir, chunk_size=5)
    assert isinstance(sampler_, BaseSamplerV2)
    ours = sampler_.run(pubs, shots=SHOTS).result()
    theirs = SamplerV2(seed=SEED).run(pubs, shots=SHOTS).result()
    assert_same_samples(ours, theirs)
    assert ours[1].data.meas.shape == (4, 3) and ours[2].data.b.get_counts() == {"1": SHOTS}
    default = sampler(store_dir, default_shots=32).run([FEATURES["several_registers"]()]).result()
    assert default[0].data.a.num_shots == 32


def test_the_job_is_the_set_its_status_follows_it_and_cancel_stops_it(store_dir, monkeypatch):
    opened = threading.Event()
    real = AerBackend._simulate
    monkeypatch.setattr(AerBackend, "_simulate", lambda self, *a: (opened.wait(WAIT), real(self, *a))[1])
    sampler_ = sampler(store_dir, name="api", chunk_size=4)
    job = sampler_.run([(ansatz(), values(12, 3))], shots=SHOTS)
    assert isinstance(job, BasePrimitiveJob) and not job.picked_up
    assert job.status() in (JobStatus.QUEUED, JobStatus.RUNNING)  # the gate is shut: cannot be final
    assert not job.done() and not job.in_final_state() and not job.cancelled()
    deadline = time.monotonic() + WAIT
    while not job.running():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert run_jobman("status", job.job_id(), "--json").returncode == 0  # the id is the set's
    job.cancel()
    opened.set()
    job.wait_for_final_state(WAIT)
    assert job.status() is JobStatus.CANCELLED and job.cancelled() and job.in_final_state()
    with pytest.raises(jobman.JobmanError, match="has no result for every circuit"):
        job.result()
    again = sampler_.run([(ansatz(), values(12, 3))], shots=SHOTS)  # the cancelled circuits retried
    assert again.job_id() == job.job_id() and again.picked_up
    theirs = SamplerV2(seed=SEED).run([(ansatz(), values(12, 3))], shots=SHOTS).result()
    assert_same_samples(again.result(), theirs)
    assert again.status() is JobStatus.DONE and again.done() and again.error_message() is None


def test_same_name_and_inputs_pick_the_set_up_other_inputs_start_a_new_one(store_dir):
    pubs = [(ansatz(), values(6, 3))]
    first = sampler(store_dir, name="exp").run(pubs, shots=SHOTS)
    first.result()
    attempts = [len(c.attempts) for c in first.job_set.set_store.chunks()]
    again = sampler(store_dir, name="exp").run([(ansatz(), values(6, 3))], shots=SHOTS)  # rebuilt: new UUIDs
    assert again.job_id() == first.job_id() and again.picked_up and again.done()
    assert [len(c.attempts) for c in again.job_set.set_store.chunks()] == attempts  # nothing ran again
    unnamed = [QuantumCircuit(1), QuantumCircuit(1)]  # Qiskit names them circuit-N, N counting up
    for built in unnamed:
        built.x(0)
        built.measure_all()
    picked = [sampler(store_dir, name="plain").run([built], shots=SHOTS) for built in unnamed]
    assert picked[0].job_id() == picked[1].job_id() and picked[1].picked_up
    changed = [sampler(store_dir, name="exp").run([(ansatz(), values(6, 3, seed=1))], shots=SHOTS),
               sampler(store_dir, name="exp").run(pubs, shots=SHOTS + 1),
               sampler(store_dir, name="exp", seed=SEED + 1).run(pubs, shots=SHOTS),
               sampler(store_dir, name="exp").run([(ansatz(3, "renamed"), values(6, 3))], shots=SHOTS),
               sampler(store_dir).run(pubs, shots=SHOTS)]  # no name: always a new set
    ids = {first.job_id(), *(job.job_id() for job in changed)}
    assert len(ids) == 6 and picked[0].job_id() not in ids
    for job in changed:
        job.result()
    sets = [Store(store_dir).open_set(i) for i in ids]
    assert sorted(s.record.name for s in sets) == ["exp"] * 5 + ["sampler"]
    assert len({s.record.tags[DIGEST_TAG] for s in sets}) == 5  # the unnamed one has the first's inputs


def test_pubs_of_other_shots_in_one_run_are_refused_before_anything_is_stored(store_dir):
    circuit = ansatz()
    with pytest.raises(UsageError, match="PUB 0 comes to 10 shots and PUB 1 to 64: a jobman Sampler runs "
                                         "one number of shots per run"):
        sampler(store_dir).run([(circuit, values(2, 3), 10), (circuit, values(2, 3))], shots=SHOTS)
    with pytest.raises(UsageError, match="PUB 0: Length of .* inconsistent with last dimension"):
        sampler(store_dir).run([(circuit, values(2, 4))])
    with pytest.raises(UsageError, match="not a single one"):
        sampler(store_dir).run((circuit, values(2, 3)))
    from qiskit_aer import AerSimulator

    with pytest.raises(UsageError, match="backend: give a backend name .* not AerSimulator"):
        jobman.Sampler(backend=AerSimulator())
    assert not store_dir.exists() or not Store(store_dir).set_ids()
    own = sampler(store_dir).run([(circuit, values(2, 3), 10), (circuit, values(1, 3), 10)], shots=SHOTS)
    assert [pub.data.meas.num_shots for pub in own.result()] == [10, 10]  # a PUB's own shots win


SCRIPT = r"""
import os, signal, sys
import numpy as np
import jobman
import jobman.store as store
from test_sweep import ansatz, values

kill_after = int(sys.argv[1])
if kill_after >= 0:  # die right after that chunk's results and DONE record are written
    real = store.SetStore.finish_chunk
    def finish_chunk(self, record, *args, **kwargs):
        real(self, record, *args, **kwargs)
        if record.index == kill_after and record.status == "DONE":
            os.kill(os.getpid(), signal.SIGKILL)
    store.SetStore.finish_chunk = finish_chunk
sampler = jobman.Sampler(name="crashy", seed=11, chunk_size=3)
job = sampler.run([(ansatz(), values(5, 4, 3))], shots=64)
result = job.result()
print(job.job_id(), job.metadata["picked_up"], result[0].data.meas.shape)
"""


def test_a_script_run_again_after_a_kill_carries_on_and_runs_no_chunk_twice(store_dir, tmp_path):
    full = dict(os.environ, PYTHONPATH=str(Path(__file__).parent))  # the script imports test_sweep
    killed = subprocess.run([sys.executable, "-c", SCRIPT, "2"], capture_output=True, text=True, env=full,
                            timeout=WAIT, cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    set_store = Store(store_dir).open_set(None)
    before = [c.status for c in set_store.chunks()]
    assert before[2] == "DONE" and before != ["DONE"] * len(before)  # chunks end in any order
    done = subprocess.run([sys.executable, "-c", SCRIPT, "-1"], capture_output=True, text=True, env=full,
                          timeout=WAIT, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [set_store.id, "True", "(5,", "4)"]
    assert Store(store_dir).set_ids() == [set_store.id]
    set_store = Store(store_dir).open_set(set_store.id)
    assert [len(c.attempts) for c, was in zip(set_store.chunks(), before) if was == "DONE"] == [1] * before.count("DONE")
    lines = [line["index"] for c in range(set_store.record.num_chunks) for line in set_store.read_results(c)]
    assert lines == list(range(20))
    again = jobman.Sampler(name="crashy", seed=SEED, chunk_size=3).run([(ansatz(), values(5, 4, 3))], shots=64)
    theirs = SamplerV2(seed=SEED).run([(ansatz(), values(5, 4, 3))], shots=64).result()
    assert again.job_id() == set_store.id
    assert_same_samples(again.result(), theirs)


def test_importing_jobman_imports_no_qiskit_until_the_sampler_is_asked_for():
    code = ("import sys, jobman; before = 'qiskit' in sys.modules; jobman.Sampler; "
            "print(before, 'qiskit' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


def test_a_qiskit_experiments_analysis_through_the_sampler(store_dir):
    experiments = pytest.importorskip("qiskit_experiments.library", reason="qiskit-experiments is not installed")
    from qiskit_aer import AerSimulator

    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    backend = AerSimulator(seed_simulator=SEED)
    fidelities = []
    for chosen in (sampler(store_dir, name="tomography", default_shots=256), SamplerV2(seed=SEED)):
        experiment = experiments.StateTomography(bell)
        data = experiment.run(backend, sampler=chosen, shots=256).block_for_results(timeout=WAIT)
        assert data.analysis_status().name == "DONE", data.analysis_errors()
        fidelities.append(data.analysis_results("state_fidelity", dataframe=True).iloc[0].value)
        counts = [datum["counts"] for datum in data.data()]
    assert fidelities[0] == pytest.approx(fidelities[1]) and fidelities[0] > 0.9
    assert len(counts) == 9
    job_ids = {s.id for s in (Store(store_dir).open_set(i) for i in Store(store_dir).set_ids())}
    assert len(job_ids) == 1
