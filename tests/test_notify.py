"""``--notify-command``: run when a set's run ends, with the set's id, state and exit code in its
environment; recorded, so retry (and resume) run it too; its failure never changes the set."""

import json

from cli_support import invoke
from conftest import write_qpy
from jobman.inputs import make_basis_circuits
from qiskit import QuantumCircuit

RECORD = 'echo "$JOBMAN_SET_ID $JOBMAN_SET_STATE $JOBMAN_EXIT_CODE $JOBMAN_FAILED" >> {out}; echo noise'


def test_the_command_gets_id_state_and_exit_code_and_retry_runs_it_again(store_dir, tmp_path):
    circuits = make_basis_circuits(6, 5)
    circuits[2] = QuantumCircuit(2, name="bare")  # no measurements: fails alone
    path = write_qpy(tmp_path / "c.qpy", circuits)
    out = tmp_path / "notified.txt"
    run = invoke("run", str(path), "--shots", "10", "--notify-command", RECORD.format(out=out))
    assert run.exit_code == 3
    set_id = run.stdout.strip()
    assert run.stdout == set_id + "\n"  # the command's own output never reaches stdout
    assert out.read_text() == f"{set_id} DONE 3 1\n"
    assert invoke("show", set_id, "--json").exit_code == 0
    retried = invoke("retry", set_id)
    assert retried.exit_code == 3 and retried.stdout == set_id + "\n"
    assert out.read_text() == f"{set_id} DONE 3 1\n" * 2


def test_a_failing_command_is_reported_and_changes_nothing(store_dir, tmp_path):
    path = write_qpy(tmp_path / "c.qpy", make_basis_circuits(4, 5))
    run = invoke("run", str(path), "--shots", "10", "--notify-command", "exit 7")
    assert run.exit_code == 0
    assert "Warning: --notify-command exited with code 7 (the job set is unchanged)" in run.stderr
    summary = json.loads(invoke("status", run.stdout.strip(), "--json").stdout)
    assert summary["status"] == "DONE" and summary["circuits"] == {"DONE": 4}


def test_an_empty_command_is_a_usage_error(store_dir, tmp_path):
    path = write_qpy(tmp_path / "c.qpy", make_basis_circuits(2, 5))
    run = invoke("run", str(path), "--notify-command", " ")
    assert (run.exit_code, run.stdout, run.stderr) == (2, "", "Error: --notify-command must not be empty\n")
