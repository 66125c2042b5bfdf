"""The CLI end to end on real Aer: run, status, result, list, through CliRunner and a subprocess."""

import json

from typer.testing import CliRunner

from conftest import expected_counts, run_jobman, write_qpy
from jobman.cli import app
from jobman.inputs import make_basis_circuits

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_run_then_query_by_index_range_and_name(store_dir, basis_qpy):
    run = invoke("run", str(basis_qpy), "--shots", "50", "--chunk-size", "600", "--name", "basis")
    assert run.exit_code == 0, run.output
    set_id = run.stdout.strip()
    assert set_id.count("-") == 2 and "\n" not in set_id

    one = invoke("result", "--circuit", "1234", "--json")
    assert one.exit_code == 0
    assert json.loads(one.stdout) == {"index": 1234, "name": "c1234", "status": "DONE",
                                      "counts": expected_counts(1234, 50), "error": None,
                                      "metadata": {}}
    many = invoke("result", set_id[:12], "--circuit", "598-602,2499", "--json")
    rows = [json.loads(line) for line in many.stdout.splitlines()]
    assert [r["index"] for r in rows] == [598, 599, 600, 601, 602, 2499]
    assert all(r["counts"] == expected_counts(r["index"], 50) for r in rows)
    named = invoke("result", "basis", "--circuit", "c77")
    assert named.stdout == f"circuit 77 (c77): DONE\n  {77 % 32:05b} 50\n"


def test_status_list_and_newest_default(store_dir, small_qpy):
    first = invoke("run", str(small_qpy), "--shots", "10", "--chunk-size", "15").stdout.strip()
    second = invoke("run", str(small_qpy), "--shots", "10").stdout.strip()
    status = json.loads(invoke("status", "--json").stdout)
    assert status["id"] == second and status["status"] == "DONE"
    assert status["circuits"] == {"DONE": 40}
    old = json.loads(invoke("status", first, "--json", "--chunks").stdout)
    assert old["num_chunks"] == 3 and [c["stop"] for c in old["chunk_detail"]] == [15, 30, 40]
    listed = [json.loads(line) for line in invoke("list", "--json").stdout.splitlines()]
    assert [row["id"] for row in listed] == [second, first]
    human = invoke("status", first).stdout
    assert "DONE" in human and "40 circuits, 3 chunks of up to 15" in human


def test_seeded_results_do_not_depend_on_chunking(store_dir, tmp_path):
    from qiskit import QuantumCircuit

    circuits = []
    for i in range(30):
        circuit = QuantumCircuit(3, name=f"r{i}")
        circuit.h(range(3))
        circuit.ry(0.1 * i, 0)
        circuit.measure_all()
        circuits.append(circuit)
    path = write_qpy(tmp_path / "random.qpy", circuits)
    sets = [invoke("run", str(path), "--shots", "300", "--seed", "42", "--chunk-size", str(size),
                   "--max-in-flight", str(flight)).stdout.strip()
            for size, flight in ((30, 1), (7, 2), (1, 3))]
    outputs = [invoke("result", s, "--circuit", "0-29", "--json").stdout for s in sets]
    assert outputs[0] == outputs[1] == outputs[2]
    assert len({json.dumps(json.loads(line)["counts"]) for line in outputs[0].splitlines()}) > 1


def test_every_input_format_together(store_dir, tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    write_qpy(folder / "a.qpy", make_basis_circuits(3, 5))
    (folder / "b.qasm").write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[1];\nmeasure q -> c;\n')
    (folder / "c.qasm").write_text(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\nx q[0];\nx q[2];\nc = measure q;\n')
    old = tmp_path / "old.qpy"
    write_qpy(old, make_basis_circuits(2, 5, name_prefix="old"), version=13)
    run = invoke("run", str(folder), str(old), "--shots", "5", "--chunk-size", "2")
    assert run.exit_code == 0, run.output
    rows = [json.loads(line) for line in invoke("result", "--circuit", "0-6", "--json").stdout.splitlines()]
    assert [r["name"] for r in rows] == ["c0", "c1", "c2", "b", "c", "old0", "old1"]
    assert [r["counts"] for r in rows] == [{"00000": 5}, {"00001": 5}, {"00010": 5}, {"10": 5},
                                           {"101": 5}, {"00000": 5}, {"00001": 5}]


def test_real_subprocess_prints_only_the_id_on_stdout(store_dir, small_qpy):
    run = run_jobman("run", str(small_qpy), "--shots", "20", "--seed", "1")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == run.stdout.strip().splitlines()[0]
    assert "\x1b[" not in run.stderr  # not a terminal: no colour, no live display
    result = run_jobman("result", run.stdout.strip(), "--circuit", "39", "--json")
    assert json.loads(result.stdout)["counts"] == expected_counts(39, 20)
    missing = run_jobman("result", "--circuit", "40")
    assert missing.returncode == 1
    assert missing.stderr == "Error: circuit index 40 is out of range: this job set has circuits 0-39\n"


def test_python_dash_m_and_help_show_exit_codes():
    result = run_jobman("--help", env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.returncode == 0
    assert "Exit codes: 0 success; 1 error; 2 usage error" in result.stdout
