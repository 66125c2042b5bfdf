"""``jobman run`` option values: out-of-range numbers are usage errors (exit 2, one line),
checked before anything is stored or submitted."""

import math

import pytest
from typer.testing import CliRunner

from jobman.backends.aer import MAX_SHOTS
from jobman.cli import app
from jobman.cli.run import parse_duration
from jobman.exceptions import UsageError
from jobman.manager import JobManager

runner = CliRunner()


def refused(store_dir, args: list[str], message: str) -> None:
    """The command exits 2 with exactly one ``Error:`` line and leaves no set behind."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: {message}"), result.stderr
    assert result.stderr.count("Error:") == 1 and result.stdout == ""
    assert not store_dir.exists() or not [p for p in store_dir.iterdir() if not p.name.startswith(".")]


@pytest.mark.parametrize("shots", ["99999999999999999999", str(MAX_SHOTS + 1)])
def test_shots_beyond_what_aer_counts_are_refused(store_dir, small_qpy, shots):
    refused(store_dir, ["run", str(small_qpy), "--shots", shots],
            f"{shots} shots exceed the backend's limit of {MAX_SHOTS} shots per circuit")


def test_shots_beyond_the_ibm_execution_limit_are_refused(store_dir, small_qpy):
    refused(store_dir, ["run", str(small_qpy), "--backend", "fake_manila", "--shots", "10000001"],
            "10000001 shots exceed the backend's limit of 10000000 executions per job")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-5", "0", "0.5", "nanh", "infm", "1e400"])
def test_max_time_must_be_a_finite_positive_duration(store_dir, small_qpy, value):
    refused(store_dir, ["run", str(small_qpy), "--backend", "fake_manila", "--max-time", value],
            "--max-time must be")


def test_parse_duration_accepts_what_it_documents():
    assert [parse_duration(t) for t in ("7200", "90m", "2h", "1d", "1.5h", None)] == \
        [7200, 5400, 7200, 86400, 5400, None]
    for text in ("nan", "inf", "2x", ""):
        with pytest.raises(UsageError):
            parse_duration(text)


@pytest.mark.parametrize("args", [["wait", "--timeout", "inf"], ["wait", "--timeout", "nan"],
                                  ["cancel", "--wait", "inf"], ["status", "--watch", "--interval", "inf"],
                                  ["backends", "--timeout", "inf"], ["backends", "--timeout", "nan"]])
def test_seconds_must_be_finite(store_dir, args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith("Error: Invalid value for"), result.stderr


def test_python_refuses_the_same_values(store_dir, small_qpy):
    from jobman.backends.ibm import IBMBackend

    with pytest.raises(UsageError, match="shots exceed the backend's limit"):
        JobManager(store_dir).run(small_qpy, shots=10**20)
    for value in (math.nan, math.inf, -1, 0):
        with pytest.raises(UsageError, match="--max-time must be a finite number of seconds"):
            IBMBackend("fake_manila", max_time=value)
    with pytest.raises(UsageError, match="wait must be"):
        JobManager(store_dir).cancel(wait=math.nan)
    assert not store_dir.exists() or not [p for p in store_dir.iterdir() if not p.name.startswith(".")]


def test_noise_model_and_backend_options_are_used_and_shown(store_dir, small_qpy):
    import json

    from qiskit import qpy
    from qiskit_aer import AerSimulator

    from jobman.backends.noise import from_device

    result = runner.invoke(app, ["run", str(small_qpy), "--noise-model", "fake_manila", "--shots", "100",
                                 "--seed", "4", "--chunk-size", "16",
                                 "--backend-option", "method=density_matrix"])
    assert result.exit_code == 0, result.output
    with open(small_qpy, "rb") as handle:
        circuits = qpy.load(handle)[:20]
    reference = AerSimulator(noise_model=from_device("fake_manila"), method="density_matrix").run(
        circuits, shots=100, seed_simulator=4).result()
    lines = runner.invoke(app, ["result", "--circuit", "0-19", "--json"]).stdout.splitlines()
    assert [json.loads(line)["counts"] for line in lines] == [reference.get_counts(i) for i in range(20)]
    shown = json.loads(runner.invoke(app, ["show", "--json"]).stdout)["backend"]["options"]
    assert shown["method"] == "density_matrix" and shown["noise_model"]["file"] == "backend/noise_model.json"


@pytest.mark.parametrize("args,message", [
    (["--noise-model", "fake_nope"], "unknown fake backend 'fake_nope'"),
    (["--noise-model", "ibm_torino"], "--noise-model takes a fake device (e.g. fake_manila), not 'ibm_torino'"),
    (["--backend-option", "method=nope"], "Aer refuses the backend options: Invalid simulation method nope"),
    (["--backend-option", "seed_simulator=3"], "backend option 'seed_simulator' is set by jobman: use --seed"),
    (["--backend-option", "x"], "--backend-option takes KEY=VALUE (e.g. method=density_matrix), not 'x'"),
    (["--backend-option", "a=1", "--backend-option", "a=2"], "--backend-option a is given twice"),
    (["--backend", "fake_manila", "--noise-model", "fake_manila"], "--noise-model: only for the aer backend"),
    (["--transpile-option", "scheduling_method=alap"], "--transpile-option: only for fake_<device> and "
                                                       "ibm_<device> backends, not 'aer'"),
    (["--backend", "fake_manila", "--transpile-option", "scheduling_method=nope"],
     "the transpiler refuses the transpile options: Invalid plugin name nope"),
    (["--backend", "fake_manila", "--transpile-option", "seed_transpiler=1"],
     "transpile option 'seed_transpiler' is set by jobman: use --seed"),
])
def test_bad_simulator_options(store_dir, small_qpy, args, message):
    refused(store_dir, ["run", str(small_qpy), *args], message)


BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def test_circuits_piped_to_stdin_are_kept_in_the_set(store_dir, small_qpy):
    import json

    result = runner.invoke(app, ["run", "-", "--shots", "10", "--chunk-size", "8"], input=small_qpy.read_bytes())
    assert result.exit_code == 0, result.output
    set_id = result.stdout.strip()
    assert json.loads(runner.invoke(app, ["result", "--circuit", "9", "--json"]).stdout)["counts"] == \
        {format(9, "05b"): 10}
    inputs = json.loads((store_dir / set_id / "set.json").read_text())["inputs"]
    assert inputs[0]["given"] == "-" and inputs[0]["embedded"] and inputs[0]["count"] == 40
    assert (store_dir / set_id / inputs[0]["path"]).read_bytes() == small_qpy.read_bytes()


def test_dev_stdin_and_process_substitution_run_like_files(store_dir, tmp_path):
    import shlex
    import subprocess
    import sys

    bell = tmp_path / "bell.qasm"
    bell.write_text(BELL)
    jobman = f"{shlex.quote(sys.executable)} -m jobman run --shots 10 -q"
    script = f"{jobman} /dev/stdin < {shlex.quote(str(bell))} && {jobman} <(cat {shlex.quote(str(bell))})"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for set_id in done.stdout.split():
        line = runner.invoke(app, ["result", set_id, "--circuit", "0", "--json"]).stdout
        assert '"counts":{"11":10}' in line.replace(" ", ""), line


def test_an_unreadable_qasm_file_in_a_directory_fails_alone(store_dir, tmp_path):
    folder = tmp_path / "circuits"
    folder.mkdir()
    (folder / "a.qasm").write_text(BELL)
    (folder / "broken.qasm").write_text("OPENQASM 2.0;\nqreg q[1;\n")
    (folder / "c.qasm").write_text(BELL)
    result = runner.invoke(app, ["run", str(folder), "--shots", "10"])
    assert result.exit_code == 3, result.output
    assert "circuit 1 failed" in result.stderr and "broken.qasm" in result.stderr
    lines = runner.invoke(app, ["result", "--circuit", "0-2", "--json"]).stdout.splitlines()
    statuses = [(line.split('"name":')[1].split(",")[0], '"DONE"' in line) for line in lines]
    assert statuses == [('"a"', True), ('"broken"', False), ('"c"', True)]


@pytest.mark.parametrize("seed", ["9223372036854775808", "99999999999999999999"])
def test_seeds_beyond_64_bits_are_refused(store_dir, small_qpy, seed):
    refused(store_dir, ["run", str(small_qpy), "--seed", seed], f"seed must be a non-negative integer up to "
            f"9223372036854775807 (a 64-bit seed, as the simulator and the transpiler take), not {seed}")


def test_a_huge_retry_budget_backs_off_without_overflow():
    from jobman.retry import RetryPolicy

    policy = RetryPolicy(max_retries=10**20, max_delay=60.0)
    assert policy.delay(5000) == 60.0
