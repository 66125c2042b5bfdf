"""The library API: JobManager.run/resume/retry/cancel and ManagedJobSet, on real Aer and on the
fault backend wrapping it."""

import errno
import json
import os

import pytest
from qiskit import QuantumCircuit

from conftest import expected_counts
from fault_backend import FaultLab, SimulatedCrash, lab  # noqa: F401  (the fixture)
from jobman.exceptions import Interrupted, SetLockedError, StoreError, UsageError
from jobman.inputs import make_basis_circuits
from jobman.manager import JobManager
from jobman.status import JobStatus, SetState

SHOTS = 20


def manager(store_dir, lab: FaultLab) -> JobManager:
    return JobManager(store_dir, clock=lab.clock.time, sleep=lab.clock.sleep, poll_interval=0.05)


def check_exact(job_set, indices) -> None:
    result = job_set.results()
    for i in indices:
        assert result.get_counts(i) == expected_counts(i, SHOTS), i


def with_bare_circuit(n: int, bare: int) -> list[QuantumCircuit]:
    circuits = make_basis_circuits(n, 5)
    circuits[bare] = QuantumCircuit(2, name=f"c{bare}")
    return circuits


def interrupt_at(wait: int):
    def on_wait(n: int) -> None:
        if n == wait:
            raise KeyboardInterrupt
    return on_wait


def test_run_on_real_aer_gives_a_queryable_managed_job_set(store_dir):
    seen, created = [], []
    job_set = JobManager(store_dir).run(make_basis_circuits(30, 5), shots=SHOTS, seed=3, chunk_size=10,
                                        name="basis", on_change=seen.append, on_created=created.append)
    assert created[0].job_set_id() == job_set.job_set_id() and job_set.name == "basis"
    assert job_set.statuses() == [JobStatus.DONE] * 3 and job_set.status() is SetState.DONE
    check_exact(job_set, range(30))
    assert job_set.results().get_counts("c7") == expected_counts(7, SHOTS)
    assert {record.index for record in seen} == {0, 1, 2} and seen[-1].status == "DONE"
    assert job_set.report().splitlines()[:3] == [
        f"Job set {job_set.job_set_id()} (basis): DONE",
        "  backend aer, 30 circuits in 3 chunks, 20 shots", "  circuits: DONE 30"]
    again = JobManager(store_dir).job_set("basis")
    assert again.job_set_id() == job_set.job_set_id() and not again.is_running()


def test_retry_replaces_only_the_failures_and_leaves_the_rest_untouched(store_dir, lab, first_format):
    lab.fail_job(chunk=1, transient=False)
    first = manager(store_dir, lab).run(with_bare_circuit(30, 25), lab.backend(), shots=SHOTS,
                                        chunk_size=10)
    assert first.summary().circuits == {"DONE": 19, "ERROR": 11}
    paths = first._set.paths
    untouched = paths.results_file(0).read_bytes(), paths.chunks_folder.joinpath("000000.json").read_bytes()
    before_2 = first._set.read_results(2)

    job_set = manager(store_dir, lab).retry(first.job_set_id(), backend=lab.backend())
    assert (paths.results_file(0).read_bytes(), paths.chunk_file(0).read_bytes()) == untouched
    check_exact(job_set, [i for i in range(30) if i != 25])
    after_2 = job_set._set.read_results(2)
    assert after_2[:5] == before_2[:5] and after_2[6:] == before_2[6:]
    assert after_2[5]["status"] == "ERROR"  # still no measurements: retried, rejected again
    assert job_set.summary().failures == [{
        "start": 25, "stop": 26, "circuits": "25", "chunk": 2, "status": "ERROR", "attempts": 0,
        "reason": "circuit has no measurements; add measure_all() or measure into classical bits"}]
    assert [a.status for a in job_set._set.chunk(1).attempts] == ["ERROR", "DONE"]


def test_done_circuits_stay_done_and_readable_while_their_chunk_is_retried_and_after_a_kill(
        store_dir, lab):
    lab.fail_circuits(lambda i: i % 2 == 1, times=2, message="odd circuit failed")
    first = manager(store_dir, lab).run(make_basis_circuits(20, 5), lab.backend(), shots=SHOTS,
                                        chunk_size=10)
    assert first.summary().circuits == {"DONE": 10, "ERROR": 10}
    seen = []

    def look(n: int) -> None:  # what another process reads while the odd circuits are retried
        reader = JobManager(store_dir).job_set(first.job_set_id())
        seen.append((reader.summary().circuits, [(c.status.value, c.error) for c in reader.results()]))
        raise SimulatedCrash("kill -9 during the retry")

    lab.on_wait = look
    with pytest.raises(SimulatedCrash):
        manager(store_dir, lab).retry(backend=lab.backend(reattachable=True))
    lab.on_wait = None
    after_kill = JobManager(store_dir).job_set(first.job_set_id())
    for totals, circuits in seen + [(after_kill.summary().circuits,
                                     [(c.status.value, c.error) for c in after_kill.results()])]:
        assert totals == {"DONE": 10, "QUEUED": 10}
        assert circuits[0::2] == [("DONE", None)] * 10 and circuits[1::2] == [("QUEUED", None)] * 10
    check_exact(after_kill, range(0, 20, 2))
    assert [json.loads(line)["status"] for line in after_kill._set.result_lines(0)][::2] == ["DONE"] * 5
    job_set = manager(store_dir, lab).resume(backend=lab.backend(reattachable=True))
    check_exact(job_set, range(20))
    assert len(lab.jobs) == 4  # two runs, two retries re-attached: nothing ran twice


def test_retry_of_some_circuits_only(store_dir, lab):
    lab.fail_job(chunk=1, transient=False, message="device offline")
    first = manager(store_dir, lab).run(make_basis_circuits(30, 5), lab.backend(), shots=SHOTS,
                                        chunk_size=10)
    job_set = manager(store_dir, lab).retry(first.job_set_id(), indices=[12, 13],
                                            backend=lab.backend())
    check_exact(job_set, [12, 13])
    rows = [(r["circuits"], r["attempts"]) for r in job_set.summary().failures]
    assert rows == [("10-11", 1), ("14-19", 1)]
    assert lab.jobs_of(1)[-1].job.ranges() == ((12, 14),)
    with pytest.raises(UsageError, match="none of the given circuits failed or was cancelled"):
        manager(store_dir, lab).retry(first.job_set_id(), indices=[0, 12], backend=lab.backend())


def test_retry_refuses_an_unfinished_set(store_dir, lab):
    lab.hang(chunk=1)
    lab.on_wait = interrupt_at(5)
    with pytest.raises(Interrupted):
        manager(store_dir, lab).run(make_basis_circuits(20, 5), lab.backend(), shots=SHOTS, chunk_size=5)
    lab.on_wait = None
    with pytest.raises(UsageError, match=r"is not finished; run `jobman resume \S+` first"):
        manager(store_dir, lab).retry(backend=lab.backend())


def test_cancelled_circuits_can_be_retried_into_the_same_set(store_dir, lab):
    lab.hang(chunk=1)
    lab.on_wait = interrupt_at(5)
    with pytest.raises(Interrupted):
        manager(store_dir, lab).run(make_basis_circuits(20, 5), lab.backend(), shots=SHOTS, chunk_size=5)
    lab.on_wait = None
    lab.release()
    cancelled = manager(store_dir, lab).cancel()
    assert cancelled.status() is SetState.CANCELLED
    job_set = manager(store_dir, lab).retry(backend=lab.backend())
    assert job_set.job_set_id() == cancelled.job_set_id() and job_set.status() is SetState.DONE
    check_exact(job_set, range(20))


def test_resume_of_a_finished_set_runs_nothing(store_dir, lab):
    first = manager(store_dir, lab).run(make_basis_circuits(10, 5), lab.backend(), shots=SHOTS)
    jobs = len(lab.jobs)
    again = manager(store_dir, lab).resume(first.job_set_id(), backend=lab.backend())
    assert len(lab.jobs) == jobs and again.engine.submitted == 0 and again.status() is SetState.DONE


def test_one_writer_per_set(store_dir, lab):
    job_set = manager(store_dir, lab).run(make_basis_circuits(10, 5), lab.backend(), shots=SHOTS)
    set_store = job_set._set
    with set_store.lock():  # as if another process were running the set
        for call in (lambda: manager(store_dir, lab).resume(backend=lab.backend()),
                     lambda: manager(store_dir, lab).retry(backend=lab.backend())):
            with pytest.raises(SetLockedError, match=f"job set {set_store.id} is being run by another "
                                                     "process"):
                call()
        requested = JobManager(store_dir).cancel(wait=0)
        assert requested.is_running() and set_store.paths.cancel_file.exists()
    # the lock is gone with its holder; a stale request file is not acted on by a new writer
    manager(store_dir, lab).resume(backend=lab.backend())
    assert not set_store.paths.cancel_file.exists()
    assert job_set.status() is SetState.DONE


def test_bad_options_are_refused_before_a_set_exists(store_dir, lab):
    runner = manager(store_dir, lab)
    for kwargs, message in (({"shots": 0}, "shots must be a positive integer, not 0"),
                            ({"max_retries": -1}, "--max-retries must be 0 or more, not -1"),
                            ({"on_failure": "stop"}, "--on-failure must be one of continue, abort"),
                            ({"max_in_flight": 0}, "--max-in-flight must be a positive integer")):
        with pytest.raises(UsageError, match=message):
            runner.run(make_basis_circuits(2, 2), lab.backend(), **kwargs)
    assert not store_dir.exists() or os.listdir(store_dir) == []


def test_ctrl_c_while_creating_callbacks_still_says_how_to_resume(store_dir, lab):
    def created(job_set):
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match=r"run `jobman resume \S+` to carry on"):
        manager(store_dir, lab).run(make_basis_circuits(10, 5), lab.backend(), shots=SHOTS,
                                    on_created=created)
    job_set = manager(store_dir, lab).resume(backend=lab.backend())
    check_exact(job_set, range(10))


def test_a_full_disk_mid_run_stops_with_a_resume_hint_and_resume_finishes(store_dir, lab, monkeypatch,
                                                                         first_format):
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if str(dst).endswith("000002.jsonl"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(StoreError, match=r"cannot write .*000002.jsonl: No space left on device; when "
                                         r"the store is writable again, run `jobman resume \S+`"):
        manager(store_dir, lab).run(make_basis_circuits(25, 5), lab.backend(), shots=SHOTS, chunk_size=5)
    monkeypatch.setattr(os, "replace", real_replace)
    leftovers = [p for p in store_dir.rglob("*.tmp")]
    assert leftovers == []
    job_set = manager(store_dir, lab).resume(backend=lab.backend())
    assert job_set.status() is SetState.DONE
    check_exact(job_set, range(25))


def test_offline_cancel_reaches_jobs_a_reattachable_backend_left_running(store_dir, lab):
    lab.hang(times=2)
    lab.on_wait = interrupt_at(3)
    with pytest.raises(Interrupted):
        manager(store_dir, lab).run(make_basis_circuits(20, 5), lab.backend(reattachable=True),
                                    shots=SHOTS, chunk_size=5)
    assert not any(job.cancelled for job in lab.jobs.values())  # they run on without us
    job_set = manager(store_dir, lab).cancel(backend=lab.backend(reattachable=True))
    assert all(job.cancelled for job in lab.jobs.values()) and len(lab.jobs) == 2
    assert job_set.statuses() == [JobStatus.CANCELLED] * 4


def test_retry_under_abort_is_not_stopped_by_old_failures_and_can_override_the_policy(store_dir, lab):
    lab.fail_job(chunk=1, transient=False)
    first = manager(store_dir, lab).run(make_basis_circuits(30, 5), lab.backend(max_in_flight=1),
                                        shots=SHOTS, chunk_size=5, on_failure="abort")
    assert first.statuses()[1:] == [JobStatus.ERROR] + [JobStatus.CANCELLED] * 4
    some = manager(store_dir, lab).retry(indices=range(10, 20), backend=lab.backend())
    assert some.statuses()[2:4] == [JobStatus.DONE] * 2 and some.statuses()[4:] == [JobStatus.CANCELLED] * 2
    lab.fail_job(chunk=1, transient=False)
    rest = manager(store_dir, lab).retry(backend=lab.backend(max_in_flight=1), on_failure="continue")
    assert rest.statuses() == [JobStatus.DONE, JobStatus.ERROR] + [JobStatus.DONE] * 4
    check_exact(rest, [i for i in range(30) if not 5 <= i < 10])


def test_circuit_objects_mixed_with_other_things_are_refused(tmp_path):
    from jobman.exceptions import UsageError
    from jobman.manager import JobManager

    with pytest.raises(UsageError, match="give input paths or QuantumCircuit objects, not int"):
        JobManager(tmp_path).run(make_basis_circuits(2, 2) + [3], shots=5)
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]


def noisy_reference(circuits, shots: int, seed: int, **options):
    """What Aer itself gives with fake_manila's noise model: counts per circuit."""
    from qiskit_aer import AerSimulator

    from jobman.backends.noise import from_device

    simulator = AerSimulator(noise_model=from_device("fake_manila"), **options)
    result = simulator.run(circuits, shots=shots, seed_simulator=seed).result()
    return [result.get_counts(i) for i in range(len(circuits))]


def stop_after_first_chunk(record) -> None:
    if record.status == "DONE":
        raise KeyboardInterrupt


def test_resume_and_retry_run_with_the_recorded_noise_model_and_options(store_dir):
    """Before options were recorded, resume ran the rest of the set without noise."""
    circuits = make_basis_circuits(12, 5)
    expected = noisy_reference(circuits, 200, seed=11, method="density_matrix")
    assert expected[3] != expected_counts(3, 200)  # noise shows
    with pytest.raises(Interrupted):  # chunk 0 runs
        JobManager(store_dir).run(circuits, shots=200, seed=11, chunk_size=4, noise_model="fake_manila",
                                  backend_options={"method": "density_matrix"},
                                  on_change=stop_after_first_chunk)
    set_id = JobManager(store_dir).job_set().job_set_id()
    with pytest.raises(Interrupted):  # chunk 1 runs
        JobManager(store_dir).resume(set_id, on_change=stop_after_first_chunk)
    JobManager(store_dir).cancel(set_id)  # offline: chunk 2 is cancelled
    retried = JobManager(store_dir).retry(set_id)  # chunk 2 runs
    assert [retried.results().get_counts(i) for i in range(12)] == expected
    options = JobManager(store_dir).store.open_set(set_id).record.backend["options"]
    assert options["method"] == "density_matrix" and options["noise_model"]["file"] == "backend/noise_model.json"


def test_a_set_whose_noise_model_cannot_be_restored_refuses_to_run(store_dir):
    runner = JobManager(store_dir)
    with pytest.raises(Interrupted):
        runner.run(make_basis_circuits(8, 5), shots=10, seed=1, chunk_size=4, noise_model="fake_manila",
                   on_change=stop_after_first_chunk)
    set_store = runner.store.open_set(None)
    attached = set_store.paths.folder / "backend" / "noise_model.json"
    attached.write_bytes(attached.read_bytes().replace(b"0.", b"0.1", 1))
    with pytest.raises(StoreError, match=f"job set {set_store.id} cannot run with the options it was "
                                         "created with: the recorded noise_model .* has changed"):
        JobManager(store_dir).resume(set_store.id)
    from typer.testing import CliRunner

    from jobman.cli import app

    cli = CliRunner().invoke(app, ["resume", set_store.id])
    assert cli.exit_code == 1 and cli.stderr.count("\n") == 1 and "Traceback" not in cli.output
    assert cli.stderr.startswith(f"Error: job set {set_store.id} cannot run with the options it was created")
    attached.unlink()
    with pytest.raises(StoreError, match="the recorded noise_model cannot be read"):
        JobManager(store_dir).resume(set_store.id)
    assert JobManager(store_dir).job_set(set_store.id).summary().circuits.get("DONE") == 4


def test_options_for_the_wrong_backend_are_refused(store_dir, lab):
    runner = manager(store_dir, lab)
    for kwargs, message in (({"noise_model": "fake_manila"}, "noise_model: give them to the backend"),
                            ({"transpile_options": {"x": 1}}, "only for fake_<device>"),
                            ({"backend_options": {"shots": 5}}, "'shots' is set by jobman: use --shots"),
                            ({"backend_options": {"method": "nope"}}, "Aer refuses the backend options"),
                            ({"backend_options": {"precision": "triple"}}, "Aer cannot run with"),
                            ({"noise_model": 42}, "must be a qiskit_aer NoiseModel")):
        backend = lab.backend() if "noise_model" in kwargs and kwargs["noise_model"] == "fake_manila" else "aer"
        with pytest.raises(UsageError, match=message):
            runner.run(make_basis_circuits(2, 2), backend, **kwargs)
    with pytest.raises(UsageError, match="noise_model: only for aer"):
        runner.run(make_basis_circuits(2, 2), "fake_manila", noise_model="fake_manila")
    assert not store_dir.exists() or os.listdir(store_dir) == []


def test_a_set_read_from_a_fifo_resumes_without_it(store_dir, tmp_path):
    import io
    import threading

    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(make_basis_circuits(8, 5), buffer)
    fifo = tmp_path / "circuits.qpy"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(buffer.getvalue(),))
    writer.start()
    with pytest.raises(Interrupted):
        JobManager(store_dir).run(fifo, shots=SHOTS, chunk_size=4, on_change=stop_after_first_chunk)
    writer.join()
    fifo.unlink()
    job_set = JobManager(store_dir).resume()
    check_exact(job_set, range(8))
    assert job_set.name == "circuits.qpy"


def test_tags_given_from_python_are_recorded_and_checked(tmp_path):
    manager = JobManager(tmp_path / "store")
    job_set = manager.run(make_basis_circuits(2, 2), shots=5, tags={"sweep": "7"})
    assert job_set.set_store.record.tags == {"sweep": "7"}
    assert manager.store.open_set(job_set.job_set_id()).record.tags == {"sweep": "7"}
    for bad in ({"sweep": 7}, {"a=b": "c"}, ["x"]):
        with pytest.raises(UsageError):
            manager.run(make_basis_circuits(2, 2), shots=5, tags=bad)
    assert len(manager.store.set_ids()) == 1  # nothing made by the refused runs


def test_names_are_recorded_when_a_set_is_created_and_resume_records_an_old_sets(small_qpy, store_dir,
                                                                                first_format):
    manager = JobManager(store_dir)
    job_set, lock = manager.create(small_qpy, chunk_size=10, shots=8)
    lock.close()  # nothing ran: every chunk PENDING
    set_store = job_set.set_store
    assert set_store.find_names("c23") == [23] and set_store.unnamed_chunks() == []
    circuit = job_set.results().circuit("c23")
    assert (circuit.index, circuit.name, circuit.status) == (23, "c23", JobStatus.PENDING)
    for chunk in (1, 2):  # as an earlier jobman left the set
        set_store.paths.names_file(chunk).unlink()
    seen = []
    resumed = manager.resume(job_set.job_set_id(), on_start=lambda handle: seen.append(
        manager.store.open_set(handle.job_set_id()).unnamed_chunks()))
    assert seen == [[]]  # recorded before anything ran
    assert resumed.results().get_counts("c23") == expected_counts(23, 8)
