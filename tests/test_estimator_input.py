"""Estimator tasks from the shell: ``jobman run ansatz.qpy --observables H.json [--parameters
values.npy]`` gives qiskit-aer EstimatorV2's values bit for bit (read back with ``result --pub``
and ``export``), bad observables are one ``Error:`` line with exit 2 and nothing stored, and a
killed run resumes where it stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.primitives import EstimatorV2
from typer.testing import CliRunner

from cli_support import subprocess_env
from conftest import run_jobman, write_qpy
from jobman.cli import app
from jobman.store import Store
from test_cli_imports import HEAVY, PROBE
from test_resume_kill import jobman_at

SEED = 3
runner = CliRunner()
#: Two observables at every point: shape (2, 1) against the values' (3,); one given as [re, im].
H_JSON = [[[["ZZI", 1.0], ["IXI", [0.5, 0.0]], ["III", 2]]], [[["YIZ", -0.7]]]]
H_OPS = [[SparsePauliOp.from_list([("ZZI", 1.0), ("IXI", 0.5), ("III", 2)])], [SparsePauliOp("YIZ", -0.7)]]


def ansatz(name: str = "ansatz") -> QuantumCircuit:
    theta = ParameterVector("t", 2)
    circuit = QuantumCircuit(3, name=name)
    circuit.ry(theta[0], 0)
    circuit.rx(theta[1], 1)
    circuit.cx(0, 1)
    circuit.h(2)
    return circuit


@pytest.fixture
def files(tmp_path):
    values = np.random.default_rng(2).uniform(0, 3, (3, 2))
    np.save(tmp_path / "values.npy", values)
    (tmp_path / "H.json").write_text(json.dumps(H_JSON))
    measured = ansatz("measured")
    measured.measure_all()
    return {"dir": tmp_path, "values": values, "ansatz": write_qpy(tmp_path / "ansatz.qpy", [ansatz()]),
            "measured": write_qpy(tmp_path / "measured.qpy", [measured])}


def run_args(files, *extra: str) -> list[str]:
    folder = files["dir"]
    return ["run", str(files["ansatz"]), "--observables", str(folder / "H.json"), "--parameters",
            str(folder / "values.npy"), "--seed", str(SEED), *extra]


def test_cli_estimates_are_qiskit_aer_s_and_read_back_by_pub(files, store_dir):
    done = runner.invoke(app, run_args(files, "-k", "2"))
    assert done.exit_code == 0, done.stderr
    shown = runner.invoke(app, ["result", "--pub", "0", "--json"])
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    theirs = EstimatorV2().run([(ansatz(), H_OPS, files["values"])]).result()[0].data
    assert (data["kind"], data["shape"], data["status"], data["name"]) == ("estimator", [2, 3], "DONE", "ansatz")
    assert np.array_equal(np.array(data["evs"]), theirs.evs) and np.array_equal(np.array(data["stds"]), theirs.stds)
    text = runner.invoke(app, ["result", "--pub", "0"])
    assert text.stdout.startswith("pub 0 (ansatz): DONE, estimator, shape (2, 3), 3 points\n  evs: [[")
    exported = runner.invoke(app, ["export", "--format", "csv"])
    rows = exported.stdout.splitlines()
    assert rows[0] == "index,name,status,observable,ev,std,error" and len(rows) == 1 + 3 * 2
    assert float(rows[2].split(",")[4]) == theirs.evs[1, 0]  # point 0, observable 1
    probe = subprocess.run([sys.executable, "-c", PROBE, ",".join(HEAVY), json.dumps(
        [["result", "--pub", "0", "--json"], ["result", "--pub", "0"], ["export", "-f", "csv"], ["status"]])],
        capture_output=True, text=True, env=subprocess_env(store_dir), timeout=60)
    assert [(row["code"], row["loaded"]) for row in json.loads(probe.stdout)] == [(0, [])] * 4, probe.stderr
    noisy = runner.invoke(app, run_args(files, "--precision", "0.1"))
    assert noisy.exit_code == 0, noisy.stderr
    data = json.loads(runner.invoke(app, ["result", "--pub", "0", "--json"]).stdout)
    seeded = EstimatorV2(options={"run_options": {"seed_simulator": SEED}})
    theirs = seeded.run([(ansatz(), H_OPS, files["values"])], precision=0.1).result()[0].data
    assert np.array_equal(np.array(data["evs"]), theirs.evs) and data["precision"] == 0.1


@pytest.mark.parametrize("content,message", [
    ("[[\"ZZI\", 1.0]", "not JSON (Expecting ',' delimiter: line 1 column 14 (char 13))"),
    ("[[\"ZZ\", 1.0]]", "the observables act on 2 qubits, but circuit 0 (ansatz) has 3"),
    ("[[\"ZZI\", [0, 1]]]", "Non-Hermitian input observable: the simplified input observable has a non-zero "
                           "imaginary part in its coefficients."),
    ("[[[\"ZZI\", 1]], [[\"XXI\", 1]]]", "observables of shape (2,) do not broadcast with the parameter "
                                       "values' shape (3,) of circuit 0 (nest the observables as "
                                       "[[obs1], ...] to get each one at every point)"),
])
def test_bad_observables_are_one_error_line_exit_2_and_nothing_stored(files, store_dir, content, message):
    path = files["dir"] / "H.json"
    path.write_text(content)
    done = runner.invoke(app, run_args(files))
    assert (done.exit_code, done.stderr) == (2, f"Error: --observables {path}: {message}\n")
    assert not store_dir.exists() or not Store(store_dir).set_ids()


def test_circuits_that_measure_backends_that_do_not_estimate_and_inexact_precision_0_are_refused(files, store_dir):
    good = files["dir"] / "H.json"
    measured = runner.invoke(app, ["run", str(files["measured"]), "--observables", str(good)])
    assert measured.exit_code == 2 and measured.stderr.startswith(f"Error: --observables {good}: circuit 0 "
                                                                  "(measured) measures; an estimator's")
    basic = "provider:qiskit.providers.basic_provider:BasicSimulator"
    refused = runner.invoke(app, ["run", str(files["ansatz"]), "--observables", str(good), "-b", basic])
    assert (refused.exit_code, refused.stderr.splitlines()[0]) == (
        2, f"Error: backend {basic} does not compute expectation values (aer and fake and IBM devices do); "
           "on other backends jobman.Estimator(backend=..., by_measurement=True) estimates them by measurement")
    exact = runner.invoke(app, ["run", str(files["ansatz"]), "--observables", str(good), "-b", "fake_manila"])
    assert (exact.exit_code, exact.stderr.splitlines()[0]) == (
        2, "Error: backend fake_manila estimates expectation values by sampling: give a precision above 0 "
           "(--precision P; qiskit-ibm-runtime's default is 0.015625), not 0 (exact, on aer only)")
    assert not store_dir.exists() or not Store(store_dir).set_ids()


def test_a_killed_estimator_run_resumes_where_it_stopped(files, store_dir):
    child = jobman_at("DONE", 1, *run_args(files, "-k", "1"))
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    set_store = Store(store_dir).open_set(None)
    before = [c.status for c in set_store.chunks()]
    assert before[1] == "DONE"  # chunks end in any order: others may have been running
    done = run_jobman("resume", set_store.id)
    assert done.returncode == 0, done.stderr
    set_store = Store(store_dir).open_set(None)
    assert all(c.status == "DONE" for c in set_store.chunks())
    assert [len(c.attempts) for c, was in zip(set_store.chunks(), before) if was == "DONE"] == \
        [1] * before.count("DONE")  # not run again
    data = json.loads(run_jobman("result", "--pub", "0", "--json").stdout)
    theirs = EstimatorV2().run([(ansatz(), H_OPS, files["values"])]).result()[0].data
    assert np.array_equal(np.array(data["evs"]), theirs.evs)


def test_a_point_reads_as_evs_and_counts_are_refused(files, store_dir):
    from jobman.exceptions import JobmanError
    from jobman.result import ManagedResult

    assert runner.invoke(app, run_args(files)).exit_code == 0
    point = runner.invoke(app, ["result", "-c", "1"])
    assert point.exit_code == 0 and point.stdout.startswith("circuit 1 (ansatz[1]): DONE\n  evs: ")
    result = ManagedResult(Store(store_dir).open_set(None))
    assert len(result.circuit(1).evs) == 2
    with pytest.raises(JobmanError, match="point of an estimator PUB"):
        result.get_counts(1)
    with pytest.raises(JobmanError, match="is an estimator task"):
        result.to_qiskit_result()
    shown = " ".join(runner.invoke(app, ["show"]).stdout.replace("│", " ").split())
    assert "points 0-2, observables (2, 1), precision 0.0" in shown and "observables inputs/observables.json" in shown


def test_parquet_and_pandas_hold_the_csv_rows_of_an_estimator_task(files, store_dir):
    pq = pytest.importorskip("pyarrow.parquet")
    from jobman.result import ManagedResult

    assert runner.invoke(app, run_args(files)).exit_code == 0
    table = files["dir"] / "out.parquet"
    assert runner.invoke(app, ["export", "-f", "parquet", "-o", str(table)]).exit_code == 0
    csv_text = runner.invoke(app, ["export", "-f", "csv"]).stdout.splitlines()
    assert csv_text[0] == "index,name,status,observable,ev,std,error"
    from_csv = [(int(i), n, s, int(k), float(ev), float(sd)) for i, n, s, k, ev, sd, _ in
                (line.split(",") for line in csv_text[1:])]
    rows = pq.read_table(table).to_pylist()
    assert [(r["index"], r["name"], r["status"], r["observable"], r["ev"], r["std"]) for r in rows] == from_csv
    assert len(rows) == 3 * 2  # three points, two observables each
    frame = ManagedResult(Store(store_dir).open_set(None)).to_pandas()
    assert list(frame.columns) == ["index", "name", "status", "observable", "ev", "std", "error"]
    theirs = EstimatorV2().run([(ansatz(), H_OPS, files["values"])]).result()[0].data.evs  # shape (2, 3)
    assert np.array_equal(frame[frame["observable"] == 1]["ev"].to_numpy(), theirs[1])


def test_status_and_show_count_points_and_give_the_precision_not_shots(files, store_dir):
    assert runner.invoke(app, run_args(files, "--precision", "0.05")).exit_code == 0
    status = runner.invoke(app, ["status"]).stdout.splitlines()
    assert status[1] == "backend aer, 3 points, 1 chunk of up to 1000, precision 0.05"
    assert status[2] == "points:   DONE 3"
    shown = dict((line[:9].strip(), line[10:]) for line in runner.invoke(app, ["show"]).stdout.splitlines())
    assert shown["plan"] == "3 points in 1 chunk of up to 1000" and shown["points"] == "DONE 3"
    assert "shots" not in shown["options"] and "memory" not in shown["options"], shown["options"]
    details = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert (details["unit"], details["precisions"]) == ("point", [0.05])
