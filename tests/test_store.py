"""The store: set creation, chunk records, results, ids, locks and the format version."""

import json
import os
import subprocess
import sys
import threading

import pytest

from jobman.exceptions import SetLockedError, SetNotFoundError, StoreError, UsageError
from jobman.records import FORMAT_VERSION, READABLE_FORMATS, ChunkRecord, SetRecord
from jobman.status import JobStatus
from jobman.store import Store, atomic_write, new_set_id


def make_set(store: Store, set_id: str, name: str = "demo", total: int = 10, chunk_size: int = 4):
    ranges = [(a, min(a + chunk_size, total)) for a in range(0, total, chunk_size)]
    record = SetRecord(id=set_id, name=name, created=1.0, inputs=[], backend={"name": "aer"},
                       options={"shots": 10}, total=total, chunk_size=chunk_size,
                       num_chunks=len(ranges))
    chunks = [ChunkRecord(index=i, start=a, stop=b) for i, (a, b) in enumerate(ranges)]
    return store.create_set(record, chunks)


def test_created_set_round_trips(tmp_path):
    store = Store(tmp_path)
    created = make_set(store, "20260101-000000-aaaaaa")
    opened = store.open_set("20260101-000000-aaaaaa")
    assert opened.record == created.record
    assert [c.start for c in opened.chunks()] == [0, 4, 8]
    data = json.loads(opened.paths.set_file.read_text())
    assert data["format_version"] == FORMAT_VERSION


def test_names_known_at_creation_are_found_before_any_result(tmp_path):
    store = Store(tmp_path)
    record = SetRecord(id="20260101-000000-aaaaaa", name="demo", created=1.0, inputs=[],
                       backend={"name": "aer"}, options={"shots": 10}, total=10, chunk_size=4, num_chunks=3)
    chunks = [ChunkRecord(index=i, start=a, stop=min(a + 4, 10)) for i, a in enumerate((0, 4, 8))]
    asked = []

    def names(start, stop):
        asked.append((start, stop))
        return None if start == 4 else [f"n{i}" for i in range(start, stop)]

    set_store = store.create_set(record, chunks, names=names)
    assert asked == [(0, 4), (4, 8), (8, 10)]
    assert set_store.read_names(0) == ["n0", "n1", "n2", "n3"] and set_store.read_names(1) is None
    assert set_store.find_names("n9") == [9] and set_store.find_names("n5") == []
    assert set_store.read_results(0) is None  # names are no results
    # A set without them (made by an earlier jobman): filled in for the chunks that lack them.
    assert set_store.fill_names(lambda a, b: [f"m{i}" for i in range(a, b)]) == 1
    assert set_store.read_names(1) == ["m4", "m5", "m6", "m7"] and set_store.read_names(0)[0] == "n0"
    assert set_store.fill_names(lambda a, b: None) == 0


def test_chunk_record_and_results_round_trip(tmp_path):
    set_store = make_set(Store(tmp_path), "20260101-000000-aaaaaa")
    chunk = set_store.chunk(1)
    chunk.set_status(JobStatus.DONE, now=5.0)
    set_store.save_chunk(chunk)
    assert set_store.chunk(1).status == "DONE"
    assert set_store.chunk(1).history == [["DONE", 5.0]]
    lines = [{"index": i, "name": f"c{i}", "status": "DONE", "num_clbits": 2, "counts": {"0x1": 3},
              "error": None} for i in range(4, 8)]
    set_store.write_results(1, lines, [f"c{i}" for i in range(4, 8)], [["0x1"] * 3] * 4)
    assert set_store.read_results(1) == lines
    assert set_store.read_memory(1) == [["0x1"] * 3] * 4
    assert set_store.find_name("c6") == 6
    assert set_store.find_name("c66") is None
    assert set_store.read_results(0) is None


def test_resolve_by_prefix_name_and_newest(tmp_path):
    store = Store(tmp_path)
    make_set(store, "20260101-000000-aaaaaa", name="first")
    make_set(store, "20260102-000000-bbbbbb", name="second")
    make_set(store, "20260102-000000-bbbccc", name="third")
    assert store.resolve(None) == "20260102-000000-bbbccc"
    assert store.resolve("20260101") == "20260101-000000-aaaaaa"
    assert store.resolve("first") == "20260101-000000-aaaaaa"
    with pytest.raises(SetNotFoundError, match="ambiguous"):
        store.resolve("20260102-000000-bbb")
    with pytest.raises(SetNotFoundError, match="no job set matches 'zzz'; run `jobman list`"):
        store.resolve("zzz")
    with pytest.raises(SetNotFoundError, match="no job set matches '../etc'"):
        store.resolve("../etc")  # looked up as a name, never used as a path
    with pytest.raises(UsageError, match="invalid job set id"):
        store.create_set(SetRecord(id="../x", name="", created=0, inputs=[], backend={}, options={},
                                   total=0, chunk_size=1, num_chunks=0), [])
    assert [s.id for s in store.list_sets()] == ["20260102-000000-bbbccc", "20260102-000000-bbbbbb",
                                                 "20260101-000000-aaaaaa"]


def test_empty_store_says_how_to_start(tmp_path):
    with pytest.raises(SetNotFoundError, match="run `jobman run INPUT` first"):
        Store(tmp_path / "nothing").resolve(None)


def test_newer_format_is_refused(tmp_path):
    store = Store(tmp_path)
    set_store = make_set(store, "20260101-000000-aaaaaa")
    data = json.loads(set_store.paths.set_file.read_text())
    data["format_version"] = max(READABLE_FORMATS) + 1
    set_store.paths.set_file.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="store format"):
        store.open_set("20260101")


def test_set_ids_sort_by_time_and_are_safe():
    first, second = new_set_id(1_000_000), new_set_id(2_000_000)
    assert first < second
    assert all(ch.isalnum() or ch == "-" for ch in first)


def test_atomic_write_never_shows_a_torn_file(tmp_path):
    path = tmp_path / "data.json"
    big = [b"x" * 200_000, b"y" * 300_000]
    atomic_write(path, big[0])
    seen = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen.add(len(path.read_bytes()))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(200):
        atomic_write(path, big[i % 2], sync=False)
    stop.set()
    thread.join()
    assert seen <= {200_000, 300_000}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_lock_and_delete_of_a_vanished_set_raise_store_errors(tmp_path):
    store = Store(tmp_path)
    set_store = make_set(store, "20260101-000000-aaaaaa")
    store.delete_set(set_store.id)  # e.g. another `jobman delete` got there first
    with pytest.raises(StoreError, match="cannot open the lock of job set"):
        with set_store.lock():
            pass
    with pytest.raises(StoreError, match="cannot delete job set 20260101-000000-aaaaaa"):
        store.delete_set(set_store.id)


def test_lock_refuses_a_second_writer_and_dies_with_its_holder(tmp_path):
    set_store = make_set(Store(tmp_path), "20260101-000000-aaaaaa")
    with set_store.lock():
        assert set_store.is_locked()
        with pytest.raises(SetLockedError, match="being run by another process"):
            with set_store.lock():
                pass
    assert not set_store.is_locked()
    # a process that takes the lock and is killed leaves a lock file that does not block
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(60)"), str(set_store.paths.lock_file)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert set_store.is_locked()
    holder.kill()
    holder.wait()
    with set_store.lock():
        assert os.path.exists(set_store.paths.lock_file)


def test_a_link_as_lock_is_refused_and_its_target_never_written(tmp_path):
    store = Store(tmp_path / "store")
    set_store = make_set(store, "20260101-000000-aaaaaa")
    precious = tmp_path / "precious"
    precious.write_text("keep")
    set_store.paths.lock_file.unlink(missing_ok=True)
    set_store.paths.lock_file.symlink_to(precious)
    with pytest.raises(StoreError, match="lock is a symbolic link"):
        with set_store.lock():
            pass
    with pytest.raises(StoreError, match="lock is a symbolic link"):
        set_store.is_locked()
    assert precious.read_text() == "keep"
    dangling = tmp_path / "nowhere"
    set_store.paths.lock_file.unlink()
    set_store.paths.lock_file.symlink_to(dangling)
    with pytest.raises(StoreError):
        with set_store.lock():
            pass
    assert not dangling.exists()  # nothing created at a dangling link's target


def test_status_creates_nothing_and_follows_no_link(tmp_path):
    from cli_support import invoke

    root = tmp_path / "store"
    set_store = make_set(Store(root), "20260101-000000-aaaaaa")
    set_store.paths.lock_file.unlink(missing_ok=True)
    assert invoke("status", store=root).exit_code == 0
    assert not set_store.paths.lock_file.exists()  # a reader does not create the lock
    set_store.paths.lock_file.symlink_to(tmp_path / "made-by-status")
    result = invoke("status", store=root)
    assert result.exit_code == 1 and result.stderr.count("Error:") == 1
    assert not (tmp_path / "made-by-status").exists()


def test_linked_set_folders_and_subfolders_are_refused(tmp_path, monkeypatch):
    root = tmp_path / "store"
    elsewhere = make_set(Store(tmp_path / "elsewhere"), "20260101-000000-aaaaaa")
    root.mkdir()
    (root / "20260101-000000-aaaaaa").symlink_to(elsewhere.paths.folder)
    with pytest.raises(StoreError, match="20260101-000000-aaaaaa is a symbolic link"):
        Store(root).open_set("20260101-000000-aaaaaa")
    database = make_set(Store(root), "20260103-000000-cccccc").paths.folder / "set.db"
    database.rename(tmp_path / "moved.db")
    database.symlink_to(tmp_path / "moved.db")
    with pytest.raises(StoreError, match="set.db: is not a regular file"):
        Store(root).open_set("20260103-000000-cccccc").chunks()
    monkeypatch.setenv("JOBMAN_STORE_FORMAT", "1")  # a set of the first format, in files
    inner = make_set(Store(root), "20260102-000000-bbbbbb")
    results = inner.paths.results_folder
    results.rename(tmp_path / "moved-results")
    results.symlink_to(tmp_path / "moved-results")
    with pytest.raises(StoreError, match="results is a symbolic link"):
        Store(root).open_set("20260102-000000-bbbbbb")


def test_a_whole_id_is_that_set_even_when_a_copy_starts_with_it(tmp_path):
    import shutil

    store = Store(tmp_path)
    make_set(store, "20260101-000000-aaaaaa")
    shutil.copytree(tmp_path / "20260101-000000-aaaaaa", tmp_path / "20260101-000000-aaaaaa-backup")
    assert store.resolve("20260101-000000-aaaaaa") == "20260101-000000-aaaaaa"
    copy = store.open_set("20260101-000000-aaaaaa-backup")
    assert (copy.id, copy.recorded_id, copy.is_copy) == ("20260101-000000-aaaaaa-backup",
                                                         "20260101-000000-aaaaaa", True)
    assert not store.open_set("20260101-000000-aaaaaa").is_copy


@pytest.mark.parametrize("given", ["file", "objects"])
def test_a_run_leaves_only_private_folders_and_files_whatever_the_umask(tmp_path, small_qpy, given):
    import stat

    from jobman.inputs import make_basis_circuits
    from jobman.manager import JobManager

    circuits = small_qpy if given == "file" else make_basis_circuits(20, 5)
    old = os.umask(0)
    try:
        job_set = JobManager(tmp_path / "store").run(circuits, "aer", shots=10, chunk_size=16)
    finally:
        os.umask(old)
    assert job_set.status().value == "DONE"
    modes = {}
    for folder, _dirs, files in os.walk(tmp_path / "store"):
        modes[folder] = stat.S_IMODE(os.lstat(folder).st_mode)
        for name in files:
            modes[os.path.join(folder, name)] = stat.S_IMODE(os.lstat(os.path.join(folder, name)).st_mode)
    assert len(modes) >= 5 and any(path.endswith("/set.db") for path in modes)
    wrong = {path: oct(mode) for path, mode in modes.items()
             if mode != (0o700 if os.path.isdir(path) else 0o600)}
    assert wrong == {}


def test_a_cancel_request_is_seen_by_another_opening_until_cleared(tmp_path):
    store = Store(tmp_path)
    writer = make_set(store, "20260101-000000-cccccc")
    assert not writer.cancel_requested()
    store.open_set("20260101-000000-cccccc").request_cancel()  # as `jobman cancel` does
    assert writer.cancel_requested()
    writer.clear_cancel_request()
    assert not store.open_set("20260101-000000-cccccc").cancel_requested()
    writer.clear_cancel_request()  # clearing none is no error
