"""Damaged stores: every read command gives one ``Error:`` line naming the file (no traceback),
other sets keep working, ``list`` marks the set, ``delete`` removes it, ``check`` finds it and
``resume`` re-runs what lost its results."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from cli_support import SHOTS, invoke, make_set
from jobman.store import SetStore, Store

@pytest.fixture(autouse=True)
def first_format(monkeypatch):
    """These tests damage the files of store format 1 (sets made before format 2 are still read
    and written); format 2's database is damaged in tests/test_set_db.py."""
    monkeypatch.setenv("JOBMAN_STORE_FORMAT", "1")


SET = "20260105-000000-dddddd"  # 10 circuits in chunks of 4: 0-3, 4-7, 8-9
OTHER = "20260104-000000-eeeeee"


def _write(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    path.write_text(text)


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    _write(path, json.dumps(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    _write(path, data[: len(data) // 2].decode())


def _outside_link(path: Path) -> None:
    target = path.parent.parent.parent.parent / "precious"
    target.write_text('{"keep": true}')
    path.unlink()
    path.symlink_to(target)


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


CHUNK = "chunks/000001.json"
RESULTS = "results/000001.jsonl"
#: name -> (file damaged, relative to the set folder; how; what it is: the set's record, a chunk
#: record, the lock or results, which decides which commands must see it (READERS)).
DAMAGE: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "chunk []": (CHUNK, lambda p: _write(p, "[]"), "chunk"),
    "chunk null": (CHUNK, lambda p: _write(p, "null"), "chunk"),
    "chunk bogus status": (CHUNK, lambda p: _edit_json(p, lambda d: d.update(status="WEIRD")), "chunk"),
    "chunk missing field": (CHUNK, lambda p: _edit_json(p, lambda d: d.pop("start")), "chunk"),
    "chunk mistyped attempts": (CHUNK, lambda p: _edit_json(p, lambda d: d.update(attempts="x")), "chunk"),
    "chunk mistyped failed": (CHUNK, lambda p: _edit_json(p, lambda d: d.update(failed=[[1, 2]])), "chunk"),
    "chunk wrong range": (CHUNK, lambda p: _edit_json(p, lambda d: d.update(stop=99)), "chunk"),
    "chunk truncated": (CHUNK, _truncate, "chunk"),
    "chunk deleted": (CHUNK, lambda p: p.unlink(), "chunk"),
    "chunk is a link": (CHUNK, _outside_link, "chunk"),
    "chunk is a fifo": (CHUNK, _fifo, "chunk"),
    "set.json []": ("set.json", lambda p: _write(p, "[]"), "set"),
    "set.json missing total": ("set.json", lambda p: _edit_json(p, lambda d: d.pop("total")), "set"),
    "set.json chunk_size 0": ("set.json", lambda p: _edit_json(p, lambda d: d.update(chunk_size=0)), "set"),
    "set.json num_chunks too high": ("set.json", lambda p: _edit_json(p, lambda d: d.update(num_chunks=9)),
                                     "set"),
    "set.json mistyped options": ("set.json", lambda p: _edit_json(p, lambda d: d.update(options=3)), "set"),
    "set.json truncated": ("set.json", _truncate, "set"),
    "set.json deleted": ("set.json", lambda p: p.unlink(), "set"),
    "lock is a dangling link": ("lock", lambda p: (p.unlink(missing_ok=True), p.symlink_to("/nonexistent/x")),
                                "lock"),
    "results truncated": (RESULTS, _truncate, "results"),
    "results line []": (RESULTS, lambda p: _write(p, p.read_text().replace(
        p.read_text().splitlines()[1], "[]")), "results"),
    "results wrong index": (RESULTS, lambda p: _write(p, p.read_text().replace('"index":5', '"index":6')),
                            "results"),
    "results bogus status": (RESULTS, lambda p: _write(p, p.read_text().replace('"DONE"', '"WEIRD"', 1)),
                             "results"),
    "results is a link": (RESULTS, _outside_link, "results"),
}
#: Read commands, and the damage each must see (the others it does not read: it must work).
READERS = {("status",): {"set", "chunk", "lock"}, ("status", "--chunks"): {"set", "chunk", "lock"},
           ("show",): {"set", "chunk", "lock"}, ("jobs",): {"set", "chunk"},
           ("result", "-c", "0-9"): {"set", "chunk", "results"}, ("result", "-c", "c9"): {"set"},
           ("export",): {"set", "chunk", "results"}, ("export", "-f", "csv"): {"set", "chunk", "results"},
           ("wait", "--timeout", "0"): {"set", "chunk", "lock"}}


@pytest.fixture
def damaged_store(tmp_path, request) -> tuple[Path, Path]:
    """A store with a sound set OTHER and the set SET damaged as the test's ``damage`` says."""
    root = tmp_path / "store"
    make_set(root, OTHER, name="other")
    set_store = make_set(root, SET, name="victim")
    relative, damage, _ = DAMAGE[request.param]
    path = set_store.paths.folder / relative
    damage(path)
    return root, path


def check_set(set_store):
    from jobman.check import check_set as check

    return check(set_store)


def _single_error(result, path: Path) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert str(path) in lines[0] or path.name in lines[0], lines[0]


@pytest.mark.parametrize("damaged_store", list(DAMAGE), indirect=True)
def test_every_read_command_names_the_damaged_file(damaged_store, request):
    root, path = damaged_store
    kind = DAMAGE[request.node.callspec.params["damaged_store"]][2]
    for args, sees in READERS.items():
        result = invoke(*args, SET, store=root)
        if kind in sees:
            assert result.exit_code == 1, (args, result.stdout, result.stderr)
            _single_error(result, path)
        else:
            assert result.exit_code in (0, 3) and "Traceback" not in result.stderr, (args, result.stderr)
    # the other set is untouched and works; list marks the damaged one; check finds it
    assert invoke("status", OTHER, store=root).exit_code == 0
    listed = invoke("list", "--json", store=root)
    assert listed.exit_code == 0 and "Traceback" not in listed.stderr
    rows = {row["id"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert rows[OTHER]["status"] == "DONE"
    if kind != "results":
        assert rows[SET]["status"] == "DAMAGED" and listed.stderr.startswith(f"Warning: job set {SET}")
    checked = invoke("check", SET, "--json", store=root)
    assert checked.exit_code == 5, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert not report["ok"] and path.name in json.dumps(report["findings"])
    assert invoke("check", OTHER, store=root).exit_code == 0
    # delete removes the damaged set (never anything else, never a link's target)
    deleted = invoke("delete", SET, "--yes", store=root)
    assert deleted.exit_code == 0, deleted.stderr
    assert not (root / SET).exists() and (root / OTHER / "set.json").is_file()
    precious = root.parent / "precious"
    assert not precious.exists() or precious.read_text() == '{"keep": true}'


def test_deleted_results_of_a_done_chunk_are_not_done_and_resume_runs_them_again(tmp_path, small_qpy):
    root = tmp_path / "store"
    from jobman.manager import JobManager

    manager = JobManager(root)
    job_set = manager.run(small_qpy, "aer", shots=SHOTS, seed=3, chunk_size=16)
    set_id = job_set.job_set_id()
    set_store = manager.store.open_set(set_id)
    set_store.paths.results_file(1).unlink()
    status = invoke("status", set_id, "--json", store=root)
    summary = json.loads(status.stdout)
    assert summary["status"] != "DONE" and summary["circuits"] == {"PENDING": 16, "DONE": 24}
    assert summary["damaged"][0]["chunk"] == 1
    result = invoke("result", set_id, "-c", "20", store=root)
    assert result.exit_code == 3 and "PENDING" in result.stdout and "resume" in result.stdout
    findings = check_set(set_store)
    assert [f.repair for f in findings] == ["resume re-runs circuits 16-31"]
    resumed = manager.resume(set_id)
    assert resumed.status().value == "DONE"
    assert resumed.results().get_counts(20) == {format(20 % 32, "05b"): SHOTS}
    assert check_set(manager.store.open_set(set_id)) == []


def test_resume_keeps_sound_lines_of_a_truncated_results_file(tmp_path):
    root = tmp_path / "store"
    set_store = make_set(root, SET)
    path = set_store.paths.results_file(1)
    lines = path.read_text().splitlines(keepends=True)
    _write(path, "".join(lines[:2]) + lines[2][:10])  # circuits 4, 5 sound; 6 torn; 7 gone
    (finding,) = check_set(set_store)
    assert finding.file == str(path) and "truncated" in finding.fault
    assert finding.repair == "resume re-runs circuits 6-7"

    from jobman.check import repair
    from jobman.bookkeeping import Bookkeeping

    assert repair(Bookkeeping(set_store)) == [1]
    record = set_store.chunk(1)
    assert record.status == "PENDING"
    kept = set_store.read_results(1)
    assert [line["status"] for line in kept] == ["DONE", "DONE", "PENDING", "PENDING"]


def test_counts_that_do_not_add_up_to_the_shots_are_found(tmp_path):
    set_store = make_set(tmp_path / "store", SET)
    path = set_store.paths.results_file(2)
    _write(path, path.read_text().replace(f":{SHOTS}}}", f":{SHOTS - 1}}}", 1))
    (finding,) = check_set(set_store)
    assert "add up to 99, not 100 shots" in finding.fault and finding.repair == "resume re-runs circuits 8"
    text = invoke("check", store=tmp_path / "store")
    assert text.exit_code == 5
    assert text.stdout.splitlines()[0] == f"{SET}: 1 problem"


def test_check_of_sound_sets_exits_0(tmp_path):
    make_set(tmp_path / "store", SET, failed={5: "boom"}, cancelled={9})
    make_set(tmp_path / "store", OTHER, unfinished={1})
    result = invoke("check", store=tmp_path / "store")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines() == [f"{SET}: sound (10 circuits in 3 chunks)",
                                          f"{OTHER}: sound (10 circuits in 3 chunks)"]


def test_a_record_check_cannot_repair_is_said_so(tmp_path, small_qpy):
    from jobman.manager import JobManager

    job_set = JobManager(tmp_path / "store").run(small_qpy, "aer", shots=SHOTS, chunk_size=16)
    set_store = Store(tmp_path / "store").open_set(job_set.job_set_id())
    _write(set_store.paths.chunk_file(0), "[]")
    result = invoke("check", set_store.id, store=tmp_path / "store")
    assert result.exit_code == 5
    assert "a chunk record must be a JSON object, not list" in result.stdout
    assert "resume cannot repair this" in result.stdout
    resumed = invoke("resume", set_store.id, store=tmp_path / "store")
    assert resumed.exit_code == 1 and resumed.stderr.count("Error:") == 1
    assert str(set_store.paths.chunk_file(0)) in resumed.stderr


def test_a_copy_is_checked_as_its_own_set(tmp_path):
    root = tmp_path / "store"
    make_set(root, SET)
    shutil.copytree(root / SET, root / f"{SET}-backup")
    copy = SetStore.open(Store(root).open_set(f"{SET}-backup").paths)
    assert copy.id == f"{SET}-backup" and copy.recorded_id == SET and copy.is_copy
    assert check_set(copy) == []
    result = invoke("check", f"{SET}-backup", "--json", store=root)
    assert json.loads(result.stdout)["copy_of"] == SET
