"""``--detach`` with the real CLI: the set survives the end of the shell that started it (SIGHUP
to its process group), a SIGKILLed background process leaves it INTERRUPTED, and ``resume
--detach`` finishes it with every result exact, exactly once.

The background process is slowed without any hook in jobman: a ``sitecustomize`` module on
PYTHONPATH (inherited by the background process) makes every Aer job sleep ``SLOW_MS``
milliseconds, so the set is certainly still running when the test acts. Every wait polls with
a generous deadline.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_support import invoke, make_set, subprocess_env
from conftest import expected_counts, run_jobman, write_qpy
from jobman.inputs import make_basis_circuits
from jobman.result import ManagedResult
from jobman.store import Store

SHOTS = 20
WAIT = 120

SITECUSTOMIZE = """
import os
if os.environ.get("SLOW_MS"):
    import time
    from jobman.backends.aer import AerBackend
    real = AerBackend._simulate
    def slow(self, *args):
        time.sleep(int(os.environ["SLOW_MS"]) / 1000)
        return real(self, *args)
    AerBackend._simulate = slow
"""


@pytest.fixture(scope="module")
def basis40(tmp_path_factory) -> Path:
    return write_qpy(tmp_path_factory.mktemp("detach") / "basis40.qpy", make_basis_circuits(40, 5))


@pytest.fixture
def slow_env(tmp_path, store_dir):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = subprocess_env(store_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(hooks), os.getcwd()] + sys.path)
    env["SLOW_MS"] = "250"
    return env


def status(set_id: str) -> dict:
    result = invoke("status", set_id, "--json")  # in this process: quick, so polls see every state
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def poll(set_id: str, predicate, what: str) -> dict:
    deadline = time.monotonic() + WAIT
    while True:
        summary = status(set_id)
        if predicate(summary):
            return summary
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {summary['status']}"
        time.sleep(0.1)


def lock_pid(store_dir: Path, set_id: str) -> int:
    return int((store_dir / set_id / "lock").read_text())


def background_pid(store_dir: Path, set_id: str) -> int:
    """The pid of the background process once it holds the lock (in its own session)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:  # the starting process's pid until the child takes over (empty while rewritten)
            pid = lock_pid(store_dir, set_id)
            if os.getsid(pid) == pid:
                return pid
        except (ValueError, ProcessLookupError):
            pass
        assert time.monotonic() < deadline, "the background process never took the lock"
        time.sleep(0.02)


def assert_all_exact_once(store_dir: Path, set_id: str, total: int) -> None:
    set_store = Store(store_dir).open_set(set_id)
    indices = [line["index"] for chunk in range(set_store.record.num_chunks)
               for line in set_store.read_results(chunk)]
    assert indices == list(range(total))
    assert [c.counts for c in ManagedResult(set_store)] == \
        [expected_counts(i, SHOTS) for i in range(total)]


def test_detached_run_survives_sighup_to_the_starting_shell_and_ends_done(store_dir, basis40, slow_env):
    jobman = f"{sys.executable} -m jobman"
    shell = subprocess.Popen(
        ["bash", "-c", f"{jobman} run {basis40} --shots {SHOTS} --seed 3 --chunk-size 4 --detach; "
                       "sleep 600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=slow_env,
        start_new_session=True)  # the shell leads its own process group, as in a terminal
    try:
        set_id = shell.stdout.readline().strip()
        assert set_id, shell.stderr.read()
        child = background_pid(store_dir, set_id)
        assert os.getpgid(child) != shell.pid  # out of the shell's process group
        state = status(set_id)["status"]
        assert state in ("PENDING", "RUNNING")  # 10 chunks of 250 ms cannot have finished
        os.killpg(shell.pid, signal.SIGHUP)  # the terminal closes: the whole group gets SIGHUP
        assert shell.wait(timeout=WAIT) == -signal.SIGHUP
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGKILL)
    done = run_jobman("wait", set_id, "--timeout", str(WAIT))
    assert done.returncode == 0, done.stderr
    summary = status(set_id)
    assert summary["status"] == "DONE" and summary["circuits"] == {"DONE": 40} and not summary["running"]
    assert_all_exact_once(store_dir, set_id, 40)
    log = invoke("logs", set_id).stdout
    assert "started in the background" in log and f"job set {set_id}: DONE (DONE 40)" in log


def test_sigkill_of_the_background_process_leaves_it_interrupted_and_resume_detach_finishes(
        store_dir, basis40, slow_env, tmp_path):
    notified = tmp_path / "notified.txt"
    started = subprocess.run([sys.executable, "-m", "jobman", "run", str(basis40), "--shots", str(SHOTS),
                              "--seed", "3", "--chunk-size", "4", "--detach",
                              "--notify-command", f'echo "$JOBMAN_SET_STATE $JOBMAN_EXIT_CODE" >> {notified}'],
                             capture_output=True, text=True, env=slow_env, timeout=WAIT)
    assert started.returncode == 0, started.stderr
    set_id = started.stdout.strip()
    poll(set_id, lambda s: s["circuits"].get("DONE", 0) >= 8, "two chunks DONE")
    os.kill(background_pid(store_dir, set_id), signal.SIGKILL)
    summary = poll(set_id, lambda s: s["status"] != "RUNNING", "the lock to go")
    assert summary["status"] == "INTERRUPTED" and not summary["running"]
    assert summary["circuits"].get("DONE", 0) < 40
    listed = invoke("list", "--status", "interrupted", "--json").stdout
    assert [json.loads(line)["id"] for line in listed.splitlines()] == [set_id]

    resumed = run_jobman("resume", set_id, "--detach")  # not slowed this time
    assert resumed.returncode == 0 and resumed.stdout == set_id + "\n", resumed.stderr
    done = run_jobman("wait", set_id, "--timeout", str(WAIT))
    assert done.returncode == 0, done.stderr
    assert_all_exact_once(store_dir, set_id, 40)
    assert invoke("logs", set_id).stdout.count("started in the background") == 2
    poll_file = time.monotonic() + WAIT  # the resumed run's notify command runs after its lock goes
    while not notified.exists() and time.monotonic() < poll_file:
        time.sleep(0.05)
    assert notified.read_text() == "DONE 0\n"  # the killed process could not notify; resume did


def test_errors_before_the_set_exists_print_at_once_and_nothing_detaches(store_dir, tmp_path, basis40):
    missing = invoke("run", str(tmp_path / "missing.qpy"), "--detach")
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr.startswith("Error: ") and len(missing.stderr.splitlines()) == 1
    bad = invoke("run", str(basis40), "--shots", "0", "--detach")
    assert bad.exit_code == 2 and bad.stdout == ""
    assert not store_dir.exists() or Store(store_dir).set_ids() == []
    nothing = invoke("resume", "--detach")
    assert nothing.exit_code == 1 and nothing.stdout == "" and "no job sets" in nothing.stderr


def test_logs_of_a_set_that_never_detached_is_one_error_line(store_dir):
    make_set(store_dir, "20260201-000000-dddddd")
    logs = invoke("logs", "20260201-000000-dddddd")
    assert logs.exit_code == 1 and logs.stdout == ""
    assert logs.stderr == ("Error: job set 20260201-000000-dddddd has no log: only runs started "
                           "with --detach write one\n")
    (store_dir / "20260201-000000-dddddd" / "run.log").write_text("line one\n")
    assert invoke("logs", "--follow").stdout == "line one\n"  # nothing runs it: ends at once
