"""Store format 2: a set's chunks and results in one SQLite database, ``set.db``.

Real SQLite files throughout: sets made by the real store and runs, damaged with the sqlite3
module (or by overwriting bytes), then read by the real commands.
"""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest


from cli_support import SHOTS, invoke, make_set
from jobman.check import check_set, repair
from jobman.manager import JobManager
from jobman.set_db import DB_NAME, DbSetData
from jobman.store import Store

SET = "20260105-000000-dddddd"  # 10 circuits in chunks of 4: 0-3, 4-7, 8-9
OTHER = "20260104-000000-eeeeee"


def database(set_store) -> sqlite3.Connection:
    set_store.close()  # the set's own connections go: what follows is another process's edit
    return sqlite3.connect(set_store.paths.folder / DB_NAME, isolation_level=None)


def test_a_new_set_is_a_handful_of_files_and_reads_back(tmp_path, small_qpy):
    job_set = JobManager(tmp_path / "store").run(small_qpy, "aer", shots=SHOTS, seed=3, chunk_size=4)
    set_store = Store(tmp_path / "store").open_set(job_set.job_set_id())
    assert isinstance(set_store.data, DbSetData) and set_store.record.format_version == 2
    assert set_store.record.num_chunks == 10
    files = sorted(p.name for p in set_store.paths.folder.iterdir())
    assert [f for f in files if not f.startswith(DB_NAME + "-")] == ["lock", DB_NAME, "set.json"]
    lines = [line for chunk in range(10) for line in set_store.read_results(chunk)]
    assert [line["index"] for line in lines] == list(range(40))
    assert job_set.results().get_counts(20) == {format(20 % 32, "05b"): SHOTS}
    name = set_store.read_names(5)[0]
    assert set_store.find_name(name) == 20 and set_store.find_names(name) == [20]
    assert set_store.unnamed_chunks() == [] and set_store.has_results(9)


def test_first_format_sets_are_still_read_and_resumed(tmp_path, small_qpy, monkeypatch):
    # a set made as the release before format 2 made it (chunks and results as files)
    monkeypatch.setenv("JOBMAN_STORE_FORMAT", "1")
    made = make_set(tmp_path / "store", SET, unfinished={1})
    assert (made.paths.folder / "chunks").is_dir() and not (made.paths.folder / DB_NAME).exists()
    monkeypatch.delenv("JOBMAN_STORE_FORMAT")
    status = invoke("status", SET, "--json", store=tmp_path / "store")
    assert json.loads(status.stdout)["circuits"] == {"PENDING": 4, "DONE": 6}
    again = JobManager(tmp_path / "store").run(small_qpy, "aer", shots=SHOTS, chunk_size=16)
    assert isinstance(Store(tmp_path / "store").open_set(again.job_set_id()).data, DbSetData)
    assert type(Store(tmp_path / "store").open_set(SET).data).__name__ == "FileSetData"  # stays format 1


def test_an_unknown_store_format_is_one_error_line(tmp_path, small_qpy):
    ran = invoke("run", str(small_qpy), store=tmp_path / "store", env={"JOBMAN_STORE_FORMAT": "7"})
    assert ran.exit_code == 1 and ran.stderr == "Error: JOBMAN_STORE_FORMAT=7: use 1 or 2\n"


def test_deleted_results_of_a_done_chunk_are_not_done_and_resume_runs_them_again(tmp_path, small_qpy):
    manager = JobManager(tmp_path / "store")
    set_id = manager.run(small_qpy, "aer", shots=SHOTS, seed=3, chunk_size=16).job_set_id()
    with database(manager.store.open_set(set_id)) as db:
        db.execute("DELETE FROM results WHERE chunk = 1")
        db.execute("DELETE FROM finished WHERE chunk = 1")
    summary = json.loads(invoke("status", set_id, "--json", store=tmp_path / "store").stdout)
    assert summary["status"] != "DONE" and summary["circuits"] == {"PENDING": 16, "DONE": 24}
    assert summary["damaged"][0]["chunk"] == 1 and DB_NAME in summary["damaged"][0]["file"]
    assert [f.repair for f in check_set(manager.store.open_set(set_id))] == ["resume re-runs circuits 16-31"]
    resumed = manager.resume(set_id)
    assert resumed.status().value == "DONE"
    assert resumed.results().get_counts(20) == {format(20 % 32, "05b"): SHOTS}
    assert check_set(manager.store.open_set(set_id)) == []


def test_resume_keeps_the_sound_lines_of_a_chunk_that_lost_some(tmp_path):
    set_store = make_set(tmp_path / "store", SET)
    with database(set_store) as db:
        db.execute("DELETE FROM results WHERE circuit IN (6, 7)")
        db.execute("UPDATE results SET line = '{\"index\": 5' WHERE circuit = 5")  # torn text
    (finding,) = check_set(set_store)
    assert DB_NAME in finding.file and "has 2 result lines for the chunk's 4" in finding.fault

    from jobman.bookkeeping import Bookkeeping

    assert repair(Bookkeeping(set_store)) == [1]
    assert set_store.chunk(1).status == "PENDING"
    kept = set_store.read_results(1)
    assert [line["status"] for line in kept] == ["DONE", "PENDING", "PENDING", "PENDING"]


def test_counts_that_do_not_add_up_and_a_damaged_chunk_record_are_found(tmp_path):
    root = tmp_path / "store"
    make_set(root, OTHER)
    set_store = make_set(root, SET)
    with database(set_store) as db:
        (line,) = db.execute("SELECT line FROM results WHERE circuit = 8").fetchone()
        db.execute("UPDATE results SET line = ? WHERE circuit = 8",
                   (line.replace(f":{SHOTS}}}", f":{SHOTS - 1}}}", 1),))
    (finding,) = check_set(set_store)
    assert "add up to 99, not 100 shots" in finding.fault and finding.repair == "resume re-runs circuits 8"
    with database(set_store) as db:
        db.execute("UPDATE chunks SET record = '[]' WHERE chunk = 0")
    # status adds up the digest columns (it reads no record without failed ranges); what reads
    # the record says it is damaged, in one line
    assert invoke("status", SET, store=root).exit_code == 0
    for command in (["status", SET, "--chunks"], ["result", SET, "-c", "1"], ["export", SET]):
        seen = invoke(*command, store=root)
        assert seen.exit_code == 1, (command, seen.stderr)
        assert seen.stderr.count("\n") == 1 and seen.stderr.startswith("Error: ")
        assert f"{DB_NAME} (chunk 0)" in seen.stderr and "must be a JSON object" in seen.stderr
    checked = invoke("check", store=root)
    assert checked.exit_code == 5 and f"{OTHER}: sound" in checked.stdout
    assert invoke("status", OTHER, store=root).exit_code == 0


def test_a_corrupt_database_is_found_by_check_and_resume_never_writes_into_it(tmp_path):
    from conftest import write_qpy
    from jobman.inputs import make_basis_circuits

    root = tmp_path / "store"
    circuits = write_qpy(tmp_path / "c.qpy", make_basis_circuits(400, 5))
    set_id = JobManager(root).run(circuits, "aer", shots=SHOTS, chunk_size=4).job_set_id()
    set_store = Store(root).open_set(set_id)
    database(set_store).close()  # checkpointed: everything is in the main file
    path = set_store.paths.folder / DB_NAME
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    for at in range(3 * page, len(data) - page, 2 * page):  # every other page past the schema
        data[at + 100:at + 400] = b"\xff" * 300
    path.write_bytes(bytes(data))
    checked = invoke("check", set_id, store=root)
    assert checked.exit_code == 5 and checked.stdout.count("\n") == 2, checked.stdout + checked.stderr
    assert f"{DB_NAME}: integrity_check: " in checked.stdout
    assert "Traceback" not in checked.stdout + checked.stderr
    resumed = invoke("resume", set_id, store=root)
    assert resumed.exit_code == 1 and resumed.stderr.count("\n") == 1, resumed.stderr
    assert resumed.stderr.startswith("Error: ") and DB_NAME in resumed.stderr
    for command in (["status", set_id], ["result", set_id, "-c", "399"]):
        seen = invoke(*command, store=root)  # an answer, or one line
        assert "Traceback" not in seen.stdout + seen.stderr and seen.exit_code in (0, 1, 3), command
        assert seen.exit_code != 1 or seen.stderr.count("\n") == 1, (command, seen.stderr)
    assert path.read_bytes() == bytes(data)  # nothing wrote into it


def test_readers_beside_the_writer_never_see_a_torn_state(tmp_path, monkeypatch):
    from jobman.backends.aer import AerBackend
    from jobman.inputs import make_basis_circuits

    step = threading.Semaphore(0)
    real = AerBackend._simulate

    def one_at_a_time(self, *args):  # each chunk waits for the reader's go
        step.acquire(timeout=60)
        return real(self, *args)

    monkeypatch.setattr(AerBackend, "_simulate", one_at_a_time)
    manager = JobManager(tmp_path / "store", poll_interval=0.01)
    job_set = manager.run(make_basis_circuits(40, 5), shots=SHOTS, chunk_size=4, max_in_flight=1,
                          wait=False)
    reader = Store(tmp_path / "store")
    seen = []
    try:
        for _ in range(10):
            step.release()
            for _ in range(20):  # read while the writer commits
                summary = invoke("status", job_set.job_set_id(), "--json", store=tmp_path / "store")
                data = json.loads(summary.stdout)
                assert sum(data["circuits"].values()) == 40
                seen.append(data["circuits"].get("DONE", 0))
                results = reader.open_set(job_set.job_set_id()).read_results(0)
                assert results is None or len(results) == 4
    finally:
        for _ in range(20):
            step.release()
    job_set.wait_for_final_state(timeout=120)
    assert seen == sorted(seen) and seen[-1] <= 40 and job_set.status().value == "DONE"
    assert all(count % 4 == 0 for count in seen)  # a chunk's results appear whole


def test_a_full_disk_mid_run_stops_with_a_resume_hint_and_resume_finishes(tmp_path, monkeypatch):
    from jobman.exceptions import StoreError
    from jobman.inputs import make_basis_circuits
    from jobman.set_db import DbSetData

    real = DbSetData._put_results  # where every write of a chunk's results goes

    def on_a_full_disk(self, connection, chunk, *args, **kwargs):
        if chunk == 2:  # SQLite's own "database or disk is full" from here on
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            connection.execute(f"PRAGMA max_page_count = {pages}")
        return real(self, connection, chunk, *args, **kwargs)

    monkeypatch.setattr(DbSetData, "_put_results", on_a_full_disk)
    manager = JobManager(tmp_path / "store")
    with pytest.raises(StoreError, match=r"cannot write .*set\.db: database or disk is full; when the "
                                         r"store is writable again, run `jobman resume \S+`"):
        manager.run(make_basis_circuits(25, 5), shots=4000, chunk_size=5, max_in_flight=1,
                    memory=True)  # 4000 shots of memory a circuit: a chunk's results need new pages
    monkeypatch.setattr(DbSetData, "_put_results", real)
    (set_id,) = manager.store.set_ids()
    stopped = manager.store.open_set(set_id)
    assert [c.status for c in stopped.chunks()][:2] == ["DONE", "DONE"] and not stopped.has_results(2)
    job_set = manager.resume(set_id)
    assert job_set.status().value == "DONE"
    assert [job_set.results().get_counts(i) for i in range(25)] == [
        {format(i % 32, "05b"): 4000} for i in range(25)]


def test_names_are_found_by_index_and_a_chunk_without_names_is_named_on_resume(tmp_path, small_qpy):
    manager = JobManager(tmp_path / "store")
    job_set, lock = manager.create(small_qpy, chunk_size=10, shots=8)
    lock.close()
    set_store = job_set.set_store
    names = set_store.read_names(2)
    with database(set_store) as db:  # as a set whose input named its circuits only when run
        db.execute("DELETE FROM names WHERE chunk = 2")
        db.execute("DELETE FROM named WHERE chunk = 2")
        db.execute("UPDATE names SET name = ? WHERE circuit = 5", (names[1],))  # a second of that name
    assert set_store.unnamed_chunks() == [2] and set_store.read_names(2) is None
    assert set_store.find_names(names[1]) == [5] and set_store.find_name(names[1]) == 5
    manager.resume(job_set.job_set_id())
    again = manager.store.open_set(job_set.job_set_id())
    assert again.unnamed_chunks() == [] and again.find_names(names[1]) == [21]  # the run's names


def test_shot_memory_is_packed_as_bitarray_rows_and_reads_back_exactly(tmp_path):
    from qiskit_aer import AerSimulator

    from conftest import ghz
    from jobman.set_db import pack_shots, unpack_shots

    circuits = [ghz(3), ghz(12)]
    job_set = JobManager(tmp_path / "store").run(circuits, shots=1000, seed=5, memory=True)
    expected = AerSimulator().run(circuits, shots=1000, seed_simulator=5, memory=True).result()
    for index in (0, 1):
        assert job_set.results().get_memory(index) == expected.get_memory(index)
    with database(job_set.set_store) as db:
        sizes = [row[0] for row in db.execute("SELECT length(shots) FROM memory ORDER BY circuit")]
        kinds = {row[0] for row in db.execute("SELECT typeof(shots) FROM memory")}
    assert sizes == [1 + 1000 * 1, 1 + 1000 * 2] and kinds == {"blob"}  # ceil(clbits / 8) per shot
    for shots in (["0x0", "0x1ff", "0x3"], ["0x05"], [], None, ["not hex"]):
        assert unpack_shots(pack_shots(shots)) == shots  # what hex strings cannot give back stays text
    assert isinstance(pack_shots(["0x05"]), str) and isinstance(pack_shots(["0x5"]), bytes)
