"""Kill the real ``jobman`` process (SIGKILL, SIGINT) at many moments, then resume: every circuit's
exact result must be present exactly once.

The exact moments are reached without any hook in jobman itself: the child process is
``python -c KILLER point chunk jobman-args...``, which wraps one store function so that the
process SIGKILLs itself right after (or, for ``tmp``, in the middle of) that write, then runs the
real CLI. Other kills happen at random times while the test watches the store.
"""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import expected_counts, run_jobman, write_qpy
from jobman.inputs import make_basis_circuits
from jobman.manager import JobManager
from jobman.result import ManagedResult
from jobman.store import Store

SHOTS = 20
SEED = 7

KILLER = r"""
import os, signal, sys, time
point, chunk = sys.argv[1], int(sys.argv[2])
import jobman.set_db as set_db
import jobman.store as store

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def after(cls, name, when):
    real = getattr(cls, name)
    def wrapper(self, *args, **kwargs):
        value = real(self, *args, **kwargs)
        if when(*args):
            die()
        return value
    setattr(cls, name, wrapper)

if point == "created":        # the set exists, nothing has run
    after(store.Store, "create_set", lambda *a: True)
elif point in ("SUBMITTING", "QUEUED", "RUNNING"):   # right after the chunk record says so
    after(store.SetStore, "save_chunk", lambda record, **k: record.index == chunk
          and record.status == point)
elif point == "DONE":         # right after the chunk's final write (its results and its record)
    after(store.SetStore, "finish_chunk", lambda record, *a, **k: record.index == chunk)
elif point == "results":      # format 1: results written, chunk record not yet closed (format 2
    import jobman.set_files as set_files  # writes both in one transaction)
    after(set_files.FileSetData, "write_results", lambda index, *a, **k: index == chunk)
elif point == "tmp":          # in the middle of a write: format 1's temp file written, not renamed;
    real_replace = os.replace  # format 2's transaction with the results in, not committed
    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith("%06d.jsonl" % chunk):
            die()
        return real_replace(src, dst, *args, **kwargs)
    os.replace = replace
    real_put = set_db.DbSetData._put_results
    def put_results(self, connection, index, *args, **kwargs):
        if index == chunk:
            set_db._put_names = lambda *a: die()  # called inside the transaction, after the results
        return real_put(self, connection, index, *args, **kwargs)
    set_db.DbSetData._put_results = put_results
elif point == "gate":         # no kill: Aer jobs of chunks >= `chunk` wait for the file $JOBMAN_GATE
    from jobman.backends.aer import AerBackend
    real_simulate = AerBackend._simulate
    def simulate(self, job_id, pieces):
        if int(job_id.split("-")[1]) >= chunk:  # ids are aer-<chunk>-<attempt>-<n>
            while not os.path.exists(os.environ["JOBMAN_GATE"]) and not self._closed:
                time.sleep(0.01)
        return real_simulate(self, job_id, pieces)
    AerBackend._simulate = simulate
elif point == "slow":         # no kill: every Aer job takes `chunk` milliseconds longer
    from jobman.backends.aer import AerBackend
    real_simulate = AerBackend._simulate
    def simulate(self, *args):
        time.sleep(chunk / 1000)
        return real_simulate(self, *args)
    AerBackend._simulate = simulate
from jobman.cli import main
main(sys.argv[3:])
"""


@pytest.fixture(scope="module")
def basis60(tmp_path_factory) -> Path:
    return write_qpy(tmp_path_factory.mktemp("kill") / "basis60.qpy", make_basis_circuits(60, 5))


@pytest.fixture(scope="module")
def basis200(tmp_path_factory) -> Path:
    return write_qpy(tmp_path_factory.mktemp("kill") / "basis200.qpy", make_basis_circuits(200, 5))


def jobman_at(point: str, chunk: int, *args: str, **kwargs) -> subprocess.Popen:
    """Start the real CLI with a kill point (or a slowdown, or a gate) armed."""
    return subprocess.Popen([sys.executable, "-c", KILLER, point, str(chunk), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture
def gate(tmp_path, monkeypatch) -> Path:
    """The file that lets gated Aer jobs run (see the ``gate`` point); it does not exist yet."""
    path = tmp_path / "gate"
    monkeypatch.setenv("JOBMAN_GATE", str(path))
    return path


def run_args(path: Path, chunk_size: int = 5) -> list[str]:
    return ["run", str(path), "--shots", str(SHOTS), "--seed", str(SEED), "--chunk-size", str(chunk_size)]


def the_set(store_dir: Path):
    ids = Store(store_dir).set_ids()
    assert len(ids) <= 1
    return Store(store_dir).open_set(ids[0]) if ids else None


def assert_exactly_once(store_dir: Path, total: int) -> None:
    """Every circuit has one line in its chunk's results, DONE with its exact counts."""
    set_store = the_set(store_dir)
    indices = [line["index"] for chunk in range(set_store.record.num_chunks)
               for line in set_store.read_results(chunk)]
    assert indices == list(range(total))
    result = ManagedResult(set_store)
    for circuit in result:
        assert circuit.status.value == "DONE", (circuit.index, circuit.error)
        assert circuit.counts == expected_counts(circuit.index, SHOTS), circuit.index
    assert all(chunk.status == "DONE" for chunk in set_store.chunks())
    status = json.loads(run_jobman("status", set_store.id, "--json").stdout)
    assert status["status"] == "DONE" and status["circuits"] == {"DONE": total}
    assert not status["running"]


def resume(store_dir: Path) -> subprocess.CompletedProcess:
    done = run_jobman("resume")
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("point,chunk,store_format", [  # Aer saves a chunk once queued, then when done
    ("created", 0, "2"), ("QUEUED", 3, "2"), ("QUEUED", 5, "1"), ("tmp", 6, "2"), ("DONE", 4, "2"),
    ("DONE", 9, "2"), ("results", 4, "1"), ("tmp", 6, "1"), ("DONE", 7, "1")])
def test_sigkill_at_a_precise_moment_then_resume(store_dir, basis60, point, chunk, store_format,
                                                 monkeypatch):
    monkeypatch.setenv("JOBMAN_STORE_FORMAT", store_format)  # new sets; the children inherit it
    child = jobman_at(point, chunk, *run_args(basis60))
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    set_store = the_set(store_dir)
    assert set_store is not None and not set_store.is_locked()  # the dead process's lock is gone
    if point != "created":
        assert set_store.chunk(chunk).status != "DONE" or point == "DONE"
    done = resume(store_dir)
    assert f"job set {set_store.id}: DONE (DONE 60)" in done.stderr
    assert_exactly_once(store_dir, 60)
    if point in ("results", "DONE"):  # that chunk's results were kept, not run again
        assert len(the_set(store_dir).chunk(chunk).attempts) == 1


def test_kill_again_while_resuming(store_dir, basis60):
    first = jobman_at("QUEUED", 2, *run_args(basis60))
    first.communicate(timeout=60)
    second = jobman_at("DONE", 7, "resume")
    second.communicate(timeout=60)
    assert second.returncode == -signal.SIGKILL
    third = jobman_at("tmp", 10, "resume")
    third.communicate(timeout=60)
    assert third.returncode == -signal.SIGKILL
    resume(store_dir)
    assert_exactly_once(store_dir, 60)


def test_sigkill_at_random_moments_while_watching_the_store(store_dir, basis200):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    print(f"random kill seed {seed}")  # shown if the test fails
    args = run_args(basis200, chunk_size=4)
    for _ in range(3):
        child = jobman_at("slow", 5, *args)
        target = rng.randint(1, 40)
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            set_store = the_set(store_dir)
            if set_store is not None and sum(c.status == "DONE" for c in set_store.chunks()) >= target:
                time.sleep(rng.random() * 0.05)
                break
            time.sleep(0.005)
        child.kill()
        child.communicate(timeout=60)
        args = ["resume"]
    resume(store_dir)
    assert_exactly_once(store_dir, 200)


def wait_for_done_chunks(store_dir: Path, count: int, child: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        set_store = the_set(store_dir)
        if set_store is not None and sum(c.status == "DONE" for c in set_store.chunks()) >= count:
            return set_store.id
        time.sleep(0.01)
    raise AssertionError("the run made no progress")


@pytest.mark.parametrize("signum,code,said", [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "stopped by SIGTERM"),
    (signal.SIGHUP, 129, "stopped by SIGHUP")], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_ctrl_c_sigterm_and_sighup_save_state_stop_workers_say_how_to_resume(
        store_dir, basis60, gate, signum, code, said):
    import psutil

    child = jobman_at("gate", 2, *run_args(basis60))  # chunks 2 on wait for the gate
    set_id = wait_for_done_chunks(store_dir, 2, child)
    workers = psutil.Process(child.pid).children(recursive=True)
    assert workers  # Aer's worker processes
    child.send_signal(signum)
    out, err = child.communicate(timeout=60)
    assert child.returncode == code
    assert out == set_id + "\n"
    assert err == f"Error: {said}; progress is saved: run `jobman resume {set_id}` to carry on\n"
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []  # no worker outlives jobman
    set_store = the_set(store_dir)
    assert not set_store.is_locked()
    assert {c.status for c in set_store.chunks()} <= {"DONE", "PENDING"}  # nothing left RUNNING
    gate.touch()
    if signum == signal.SIGINT:
        resume(store_dir)
        assert_exactly_once(store_dir, 60)
    else:  # the same store, resumed in this process (quicker than one more jobman process)
        result = JobManager(store_dir).resume(set_id).results()
        assert [c.counts for c in result] == [expected_counts(i, SHOTS) for i in range(60)]


def test_cancel_and_a_second_writer_from_other_processes(store_dir, basis60, gate):
    child = jobman_at("gate", 2, *run_args(basis60))  # chunks 2 on wait for the gate
    set_id = wait_for_done_chunks(store_dir, 2, child)
    second = run_jobman("resume", set_id)
    assert second.returncode == 1
    assert second.stderr == (f"Error: job set {set_id} is being run by another process "
                             f"(see `jobman status {set_id}`)\n")
    cancel = run_jobman("cancel", set_id)
    assert cancel.returncode == 0, cancel.stderr
    assert cancel.stderr.startswith(f"job set {set_id}: CANCELLED (")
    _, err = child.communicate(timeout=60)
    assert child.returncode == 3 and f"job set {set_id}: CANCELLED" in err
    status = json.loads(run_jobman("status", set_id, "--json").stdout)
    assert status["status"] == "CANCELLED" and not status["running"]
    circuits = status["circuits"]
    assert set(circuits) == {"DONE", "CANCELLED"} and circuits["DONE"] + circuits["CANCELLED"] == 60
    assert all(row["reason"] == "cancelled by request (jobman cancel)" for row in status["failures"])
    set_store = the_set(store_dir)
    result = ManagedResult(set_store)
    done = [c.index for c in result if c.counts is not None]
    assert len(done) == circuits["DONE"]
    assert all(result.get_counts(i) == expected_counts(i, SHOTS) for i in done)
    retried = run_jobman("retry", set_id)
    assert retried.returncode == 0, retried.stderr
    assert_exactly_once(store_dir, 60)
