"""The store: set creation, chunk records, results, ids, locks and the format version."""

import json
import os
import subprocess
import sys
import threading

import pytest

from jobman.exceptions import SetLockedError, SetNotFoundError, StoreError, UsageError
from jobman.records import FORMAT_VERSION, ChunkRecord, SetRecord
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
    data["format_version"] = FORMAT_VERSION + 1
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
