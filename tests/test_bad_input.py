"""Bad input through the CLI: one ``Error: ...`` line on stderr, a documented exit code, no
traceback, and a store left exactly as it was.

Exit codes (README): 1 for things that do not exist or cannot be read (files, sets, circuits,
the store), 2 for values that can never be valid (options, ids, specs), 3 when the set ran but
some circuits could not (no measurements, too wide, unreadable circuit): those are recorded as
ERROR per circuit, with the reason, and the others run.
"""

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from qiskit import QuantumCircuit
from typer.testing import CliRunner

from conftest import expected_counts, run_jobman, write_qpy
from jobman.cli import app
from jobman.inputs import make_basis_circuits
from jobman.store import Store
from jobman.qpy_index import QpyIndex

runner = CliRunner()
NO_MEASURE = "circuit has no measurements; add measure_all() or measure into classical bits"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Input files, good and bad, and a reference store holding two finished sets."""
    folder = tmp_path_factory.mktemp("bad")
    good = write_qpy(folder / "good.qpy", make_basis_circuits(40, 5))
    data = good.read_bytes()
    with open(good, "rb") as handle:
        index = QpyIndex.build(str(good), handle)
    middle = bytearray(data)
    middle[index.bounds[17] + 30:index.bounds[18] - 10] = b"\xab" * (index.bounds[18] - 40 - index.bounds[17])
    bare = QuantumCircuit(2, name="bare")
    bare.h(0)
    wide = QuantumCircuit(40, name="wide")
    wide.h(range(40))
    wide.t(range(40))  # not Clifford: needs a 40-qubit statevector, far more than this machine has
    wide.measure_all()
    paths = {
        "good": good,
        "empty": folder / "empty.qpy",
        "text": folder / "notes.txt",
        "truncated": folder / "truncated.qpy",
        "truncated_tail": folder / "truncated_tail.qpy",
        "corrupt_middle": folder / "corrupt_middle.qpy",
        "bad_qasm": folder / "bad.qasm",
        "bare": write_qpy(folder / "bare.qpy", [bare] + make_basis_circuits(3, 5)),
        "wide": write_qpy(folder / "wide.qpy", make_basis_circuits(3, 5) + [wide]),
    }
    paths["empty"].write_bytes(b"")
    paths["text"].write_text("hello, these are not circuits\n")
    paths["truncated"].write_bytes(data[:300])
    paths["truncated_tail"].write_bytes(data[:-40])
    paths["corrupt_middle"].write_bytes(bytes(middle))
    paths["bad_qasm"].write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\n')
    reference = folder / "reference-store"
    env = {"JOBMAN_HOME": str(reference)}
    for _ in range(2):
        assert run_jobman("run", str(good), "--shots", "20", "--chunk-size", "10", env=env).returncode == 0
    paths["reference"] = reference
    return paths


@pytest.fixture
def store(files, store_dir) -> Path:
    """A copy of the reference store for one test."""
    shutil.copytree(files["reference"], store_dir)
    return store_dir


def snapshot(root: Path) -> dict[str, str]:
    """Every file under the store with a hash of its bytes (lock files and the catalogue, a
    cache of `jobman list` rows, are not data)."""
    if not root.is_dir():
        return {"<not a directory>": str(root.exists())}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name not in ("lock", ".catalogue.db")}


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    return result


def refused(store: Path, args: list[str], message: str, code: int) -> None:
    before = snapshot(store)
    result = invoke(*args)
    assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n")
    assert result.stdout == ""
    assert snapshot(store) == before


def newest(store: Path) -> str:
    return sorted(p.name for p in store.iterdir() if not p.name.startswith("."))[-1]


@pytest.mark.parametrize("name,message", [
    ("missing", "no such file: {path}"),
    ("empty", "empty file: {path}"),
    ("text", "not a QPY or OpenQASM file: {path}"),
    ("truncated", "truncated QPY file {path}: the offset table for 40 circuits does not fit in 300 bytes"),
    ("truncated_tail", "truncated or corrupt QPY file {path}: cannot read circuit 39: "),
    ("bad_qasm", "invalid OpenQASM 2 file {path}: bad.qasm:4,0: unexpected end-of-file when "
                 "expecting to see ';'"),
])
def test_unusable_input_files(files, store, name, message):
    path = files.get(name, files["good"].parent / "missing.qpy")
    before = snapshot(store)
    result = invoke("run", str(path), "--shots", "10")
    expected = "Error: " + message.format(path=path)
    assert result.exit_code == 1
    assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == "" and snapshot(store) == before


@pytest.mark.parametrize("option,message", [
    (["--shots", "0"], "shots must be a positive integer, not 0"),
    (["--shots", "-5"], "shots must be a positive integer, not -5"),
    (["--backend", "nope"], "unknown backend 'nope': use aer, fake_<device> (e.g. fake_manila) or "
                            "ibm_<device>; `jobman backends` lists them"),
    (["--max-retries", "-1"], "--max-retries must be 0 or more, not -1"),
    (["--on-failure", "stop"], "--on-failure must be one of continue, abort, not 'stop'"),
    (["--chunk-size", "0"], "--chunk-size must be a positive integer, not 0"),
])
def test_bad_run_options(files, store, option, message):
    refused(store, ["run", str(files["good"]), *option], message, 2)


@pytest.mark.parametrize("command", [["status"], ["resume"], ["retry"], ["cancel"],
                                     ["result", "--circuit", "1"]])
def test_unknown_ambiguous_and_path_like_set_ids(store, command):
    head, *rest = command
    refused(store, [head, "nope", *rest], "no job set matches 'nope'; run `jobman list`", 1)
    refused(store, [head, "../../etc", *rest], "no job set matches '../../etc'; run `jobman list`", 1)
    ids = sorted(p.name for p in store.iterdir() if not p.name.startswith("."))  # not the catalogue
    before = snapshot(store)
    result = invoke(head, "2", *rest)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: job set id '2' is ambiguous: matches ")
    assert all(i in result.stderr for i in ids) and snapshot(store) == before


@pytest.mark.parametrize("command", ["result", "retry"])
@pytest.mark.parametrize("spec,message,code", [
    ("40", "circuit index 40 is out of range: this job set has circuits 0-39", 1),
    ("-5", "invalid circuit spec '-5': use an index (42), a range (100-199), a comma list or a "
           "circuit name", 2),
    ("5-3", "invalid circuit range '5-3': the end is before the start", 2),
    ("nonsense", "no circuit named 'nonsense' in this job set", 1),
    ("", "empty circuit spec; give an index (42), a range (100-199), a list or a name", 2),
])
def test_bad_circuit_specs(store, command, spec, message, code):
    refused(store, [command, f"--circuit={spec}"], message, code)


def test_retry_of_circuits_that_did_not_fail(store):
    set_id = newest(store)
    refused(store, ["retry", "--circuit", "3"], f"none of the given circuits failed or was cancelled in "
                                                f"job set {set_id}; nothing to retry", 2)


def test_circuits_without_measurements_fail_alone_with_exit_3(files, store):
    before = snapshot(store)
    result = invoke("run", str(files["bare"]), "--shots", "20")
    set_id = result.stdout.strip()
    assert result.exit_code == 3
    assert result.stderr == (f"job set {set_id}: DONE (DONE 3, ERROR 1)\n"
                             f"circuit 0 failed (chunk 0, not submitted): {NO_MEASURE}\n")
    after = snapshot(store)
    assert {k: v for k, v in after.items() if k in before} == before
    status = invoke("status", set_id, "--json")
    assert '"reason":"' + NO_MEASURE + '"' in status.stdout
    human = invoke("status", set_id).stdout
    assert f"circuit 0 failed (chunk 0, not submitted): {NO_MEASURE}" in human.splitlines()
    shifted = invoke("result", set_id, "--circuit", "1-3", "--json").stdout  # circuits c0-c2 follow "bare"
    assert [json.loads(line)["counts"] for line in shifted.splitlines()] == \
        [expected_counts(i, 20) for i in range(3)]


def test_circuits_too_wide_for_the_backend_fail_alone_with_exit_3(files, store):
    result = invoke("run", str(files["wide"]), "--shots", "20")
    assert result.exit_code == 3
    failure = result.stderr.splitlines()[1]
    assert failure.startswith("circuit 3 failed (chunk 0, 1 attempt): ERROR: Insufficient memory to run "
                              "circuit wide using the statevector simulator")
    assert invoke("result", result.stdout.strip(), "--circuit", "0-2").exit_code == 0


def test_a_corrupt_circuit_inside_a_file_fails_alone(files, store):
    result = invoke("run", str(files["corrupt_middle"]), "--shots", "20", "--chunk-size", "10")
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert lines[0].endswith("DONE (DONE 39, ERROR 1)")
    assert lines[1].startswith("circuit 17 failed (chunk 1, not submitted): cannot load circuit: "
                               "truncated or corrupt QPY file")


def test_a_store_that_is_not_a_directory(files, tmp_path, monkeypatch):
    blocker = tmp_path / "store-file"
    blocker.write_text("not a store")
    monkeypatch.setenv("JOBMAN_HOME", str(blocker))
    refused(blocker, ["status"], f"cannot read store directory {blocker}: Not a directory", 1)
    refused(blocker, ["run", str(files["good"])], f"cannot create store directory {blocker}: File exists", 1)
    assert blocker.read_text() == "not a store"


def test_an_unreadable_store(store, monkeypatch):
    real_listdir = os.listdir

    def listdir(path="."):
        if Path(path) == store:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)  # works as root too, unlike chmod
    refused(store, ["status"], f"cannot read store directory {store}: Permission denied", 1)
    refused(store, ["list"], f"cannot read store directory {store}: Permission denied", 1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads through chmod 000")
def test_an_unreadable_store_by_permissions(store):
    store.chmod(0)
    try:
        result = invoke("status")
        assert result.exit_code == 1 and result.stderr.startswith("Error: cannot read store directory")
    finally:
        store.chmod(0o755)


def test_a_full_store_refuses_a_new_set_and_leaves_nothing_behind(files, store, monkeypatch):
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    before = snapshot(store)
    result = invoke("run", str(files["good"]), "--shots", "10")
    monkeypatch.setattr(os, "replace", real_replace)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: cannot write ") and \
        result.stderr.endswith(": No space left on device\n") and result.stderr.count("\n") == 1
    assert snapshot(store) == before  # no half-made set, no staging folder, no temp files
    assert sorted(p.name for p in store.iterdir()) == sorted(p.name for p in files["reference"].iterdir())


def test_resume_whose_input_file_is_gone(files, store, tmp_path):
    moved = write_qpy(tmp_path / "moving.qpy", make_basis_circuits(10, 5))
    run = invoke("run", str(moved), "--shots", "10")
    assert run.exit_code == 0
    set_id = run.stdout.strip()
    moved.unlink()
    set_store = Store(store).open_set(set_id)
    chunk = set_store.chunk(0)
    chunk.status = "RUNNING"  # as a killed run left it
    set_store.save_chunk(chunk)
    set_store.close()
    refused(store, ["resume", set_id], f"no such file: {moved}", 1)
