"""``jobman backends`` and the IBM options of ``jobman run``, through the real command group."""

from __future__ import annotations

import json

import pytest

from cli_support import invoke
from conftest import write_qpy
from ibm_support import ibm_account, ibm_standin, no_account, saved_account  # noqa: F401
from jobman.inputs import make_basis_circuits

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def rows(result) -> dict[str, dict]:
    return {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_without_an_account_the_local_backends_are_listed_and_a_note_says_why(no_account):
    result = invoke("backends", "--json")
    assert result.exit_code == 0, result.stderr
    listed = rows(result)
    assert listed["aer"]["source"] == "local" and listed["fake_manila"]["num_qubits"] == 5
    assert listed["fake_manila"]["max_executions"] == 10_000_000 and listed["fake_manila"]["pending_jobs"] == 0
    assert not any(row["source"] == "ibm" for row in listed.values())
    assert "no IBM Quantum account is configured" in result.stderr and "--account NAME" in result.stderr


def test_an_account_from_the_environment_adds_its_devices_with_queue_lengths(ibm_account):
    ibm_account.hold()
    ibm_account.pending_limit = None
    from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2

    manila = QiskitRuntimeService().backend("ibm_fake_manila")
    from qiskit import QuantumCircuit
    from qiskit.transpiler import generate_preset_pass_manager

    circuit = QuantumCircuit(1)
    circuit.measure_all()
    SamplerV2(mode=manila).run(generate_preset_pass_manager(1, manila).run([circuit]))  # one queued job
    result = invoke("backends")
    assert result.exit_code == 0 and result.stderr == ""
    line = next(line for line in result.stdout.splitlines() if line.startswith("ibm_fake_manila "))
    assert line.split()[:4] == ["ibm_fake_manila", "ibm", "5", "1"] and "20 MB" in line
    assert any(line.startswith("ibm_fake_torino ") for line in result.stdout.splitlines())


def test_a_saved_account_by_name_and_a_missing_one(saved_account):
    listed = rows(invoke("backends", "--account", saved_account, "--json"))
    assert listed["ibm_fake_torino"]["num_qubits"] == 133 and "fake_manila" in listed
    completed = invoke("__complete-backends", "--describe").stdout.splitlines()
    assert "ibm_fake_torino\tIBM device (account standin, 133 qubits)" in completed  # remembered
    assert completed[:2] == ["aer\tlocal simulator", "fake_aachen\tfake device, 156 qubits"]
    missing = invoke("backends", "--account", "nope", "--json")
    assert missing.exit_code == 1 and "no saved IBM Quantum account named 'nope'" in missing.stderr
    assert "fake_manila" in rows(missing)


def test_run_in_session_mode_then_status_and_jobs_show_the_session(saved_account, store_dir, tmp_path):
    circuits = write_qpy(tmp_path / "basis.qpy", make_basis_circuits(10, 5))
    run = invoke("run", str(circuits), "--backend", "ibm_fake_manila", "--account", saved_account,
                 "--mode", "session", "--max-time", "10m", "-O", "2", "--shots", "16", "-k", "5")
    assert run.exit_code == 0, run.stderr
    set_id = run.stdout.strip()
    record = json.loads((store_dir / set_id / "set.json").read_text())
    [session] = record["sessions"]
    assert record["backend"]["options"] == {"mode": "session", "max_time": 600, "optimization_level": 2,
                                            "skip_transpile": False, "sampler": "v2",
                                            "account": "standin", "instance": None, "max_payload": None}
    status = invoke("status", set_id, "--chunks")
    assert f"session {session['id']} on ibm_fake_manila" in status.stdout
    assert f"session {session['id']}" in status.stdout.splitlines()[-1]
    jobs = [json.loads(line) for line in invoke("jobs", set_id, "--json").stdout.splitlines()]
    assert [row["session_ids"] for row in jobs] == [[session["id"]]] * 2


def test_ibm_options_with_aer_are_a_usage_error(store_dir, tmp_path):
    circuits = write_qpy(tmp_path / "basis.qpy", make_basis_circuits(2, 5))
    result = invoke("run", str(circuits), "--mode", "session", "--sampler", "executor")
    assert result.exit_code == 2
    assert "--mode, --sampler: only for fake_<device> and ibm_<device> backends, not 'aer'" in result.stderr
    bad = invoke("run", str(circuits), "--backend", "fake_manila", "--max-time", "soon")
    assert bad.exit_code == 2 and "--max-time must be seconds or a duration" in bad.stderr


def test_aer_lists_the_executors_it_can_use(no_account):
    import importlib.util

    result = invoke("backends", "--json")
    expected = ["local"] + (["ray"] if importlib.util.find_spec("ray") else [])
    assert rows(result)["aer"]["executors"] == expected
    assert "--executor " + "|".join(expected) in rows(result)["aer"]["status"]
