"""``jobman run --dry-run``: the plan and its estimates, with nothing submitted and no set made."""

from __future__ import annotations

import json

import pytest
from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from cli_support import invoke
from conftest import write_qpy
from ibm_support import account_env, ibm_account, ibm_standin, no_account  # noqa: F401
from jobman.manager import JobManager

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def ghz(n: int = 3) -> QuantumCircuit:
    circuit = QuantumCircuit(n, name="ghz")
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure_all()
    return circuit


def test_aer_plan_lists_chunks_and_executions_without_creating_anything(tmp_path, small_qpy):
    store = tmp_path / "store"
    result = invoke("run", str(small_qpy), "--dry-run", "--json", "-k", "15", "--shots", "100",
                    store=store)
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["dry_run"] and plan["total"] == 40 and plan["num_chunks"] == 3
    assert [(j["start"], j["stop"], j["executions"]) for j in plan["jobs"]] == \
        [(0, 15, 1500), (15, 30, 1500), (30, 40, 1000)]
    assert plan["qpu_seconds"] is None and plan["sample"][0]["ops"]["measure"] == 5
    assert "nothing submitted" in result.stderr and not store.exists()


def test_fake_device_estimate_follows_ibm_baseline_formula(tmp_path):
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    path = write_qpy(tmp_path / "ghz.qpy", [ghz() for _ in range(12)])
    plan = JobManager(tmp_path / "store").dry_run(path, backend="fake_manila", shots=1000,
                                                  chunk_size=5, seed=3)
    device = FakeManilaV2()
    isa = generate_preset_pass_manager(target=device.target, optimization_level=1,
                                       seed_transpiler=3).run(ghz())
    per_shot = isa.estimate_duration(device.target) + 250e-6 + device.target["reset"][(0,)].duration
    assert [job.stop - job.start for job in plan.jobs] == [5, 5, 2]
    assert plan.qpu_seconds == pytest.approx(3 * 2.0 + 12 * 1000 * per_shot, rel=1e-6)
    assert plan.jobs[2].qpu_seconds == pytest.approx(2.0 + 2 * 1000 * per_shot, rel=1e-6)
    assert plan.prepared and set(plan.sample[0].ops) <= set(device.target.operation_names) | {"barrier"}
    assert plan.jobs[0].upload_bytes and plan.max_payload_bytes is None  # local: no upload cap
    assert not (tmp_path / "store").exists()


def test_bad_input_is_reported_as_run_reports_it(tmp_path):
    store = tmp_path / "store"
    missing = invoke("run", str(tmp_path / "nope.qpy"), "--dry-run", store=store)
    assert missing.exit_code == 1 and missing.stderr.startswith("Error: no such file")
    assert invoke("run", str(tmp_path / "nope.qpy"), "--dry-run", "--shots", "0",
                  store=store).exit_code == 2
    no_measure = QuantumCircuit(2, name="bare")
    no_measure.h(0)
    path = write_qpy(tmp_path / "bare.qpy", [no_measure])
    shown = invoke("run", str(path), "--dry-run", store=store)
    assert shown.exit_code == 0 and "circuit 0 'bare': would fail: circuit has no measurements" in shown.stdout
    assert invoke("run", str(path), "--json", store=store).exit_code == 2  # --json needs --dry-run
    assert not store.exists()


def test_ibm_dry_run_submits_nothing_and_opens_no_session(tmp_path, ibm_account):
    path = write_qpy(tmp_path / "ghz.qpy", [ghz() for _ in range(4)])
    result = invoke("run", str(path), "--backend", "ibm_fake_manila", "--dry-run", store=tmp_path / "s",
                    env=account_env(ibm_account))
    assert result.exit_code == 0, result.stderr
    assert "estimated QPU time:" in result.stdout and "cap 20.0 MB" in result.stdout
    assert ibm_account.jobs_created == 0 and ibm_account.requests_to("POST", "/sessions") == 0


def _estimator_files(folder, points: int = 12):
    import numpy as np
    from qiskit.circuit import ParameterVector

    theta = ParameterVector("t", 3)
    circuit = QuantumCircuit(3, name="ans")
    for k in range(3):
        circuit.ry(theta[k], k)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    values = folder / "values.npy"
    np.save(values, np.random.default_rng(1).uniform(0, 3, (points, 3)))
    observables = folder / "H.json"  # shape (2, 1): both observables at every point
    observables.write_text(json.dumps([[[["ZZI", 1.0], ["IZZ", 0.5]]], [[["XXX", 1.0]]]]))
    return write_qpy(folder / "ansatz.qpy", [circuit]), values, observables


def test_an_estimator_task_plans_its_points_and_the_shots_its_precision_takes(tmp_path):
    path, values, observables = _estimator_files(tmp_path)
    store = tmp_path / "store"
    exact = invoke("run", str(path), "--parameters", str(values), "--observables", str(observables),
                   "--dry-run", "--json", "-k", "5", store=store)
    assert exact.exit_code == 0, exact.stderr
    plan = json.loads(exact.stdout)
    assert plan["unit"] == "point" and plan["precisions"] == [0.0] and plan["executions"] == 0
    assert [(j["start"], j["stop"]) for j in plan["jobs"]] == [(0, 5), (5, 10), (10, 12)]
    assert all(row["problem"] is None for row in plan["sample"])  # no measurements: observables say
    text = invoke("run", str(path), "--parameters", str(values), "--observables", str(observables),
                  "--dry-run", store=store).stdout
    assert "points: 12 from 1 input" in text and "precision: 0 (exact); executions: 0" in text

    sampled = JobManager(store).dry_run(str(path), backend="fake_manila", parameters=str(values),
                                        observables=str(observables), precision=0.05, chunk_size=5)
    # 400 shots (1 / 0.05^2) for each of ZZI, IZZ and XXX at every point
    assert [job.executions for job in sampled.jobs] == [5 * 1200, 5 * 1200, 2 * 1200]
    assert sampled.executions == 12 * 1200 and sampled.qpu_seconds > 3 * 2.0
    refused = invoke("run", str(path), "--parameters", str(values), "--observables", str(observables),
                     "--dry-run", "--backend", "fake_manila", store=store)
    assert refused.exit_code == 2 and "give a precision above 0" in refused.stderr
    assert not store.exists()


def test_an_estimator_plan_s_qpu_time_is_what_the_run_estimates_per_job(tmp_path):
    path, values, observables = _estimator_files(tmp_path, points=6)
    manager = JobManager(tmp_path / "store")
    plan = manager.dry_run(str(path), backend="fake_manila", parameters=str(values),
                           observables=str(observables), precision=0.1, chunk_size=3, seed=3)
    job_set = manager.run([str(path)], backend="fake_manila", parameters=str(values),
                          observables=str(observables), precision=0.1, chunk_size=3, seed=3)
    estimates = [chunk.attempts[0].estimate_seconds for chunk in job_set._set.chunks()]
    assert estimates == pytest.approx([job.qpu_seconds for job in plan.jobs], rel=1e-6)
