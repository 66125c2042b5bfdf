"""What killed processes leave in the store is finished or removed when it is next opened,
never while a live process may own it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

from jobman.store import Store
from test_store import make_set

SET = "20260101-000000-aaaaaa"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _age(path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)


def test_tmp_files_of_dead_processes_go_those_of_live_ones_stay(tmp_path, first_format):
    store = Store(tmp_path)
    set_store = make_set(store, SET)
    dead = set_store.paths.chunks_folder / f".000001.json.{_dead_pid()}.tmp"
    live = set_store.paths.results_folder / f".000001.jsonl.{os.getpid()}.tmp"
    stale = set_store.paths.folder / f".set.json.{os.getppid()}.tmp"  # alive, but hours old
    for path in (dead, live, stale):
        path.write_text("partial")
    _age(stale, 7200)
    Store(tmp_path).open_set(SET)
    assert not dead.exists() and live.exists() and not stale.exists()


def test_a_set_killed_while_being_created_is_removed_once_its_creator_is_gone(tmp_path):
    code = ("import sys, time; from jobman.store import Store; s = Store(sys.argv[1]); "
            "f = s.staging_folder('20260102-000000-bbbbbb'); (f / 'chunks').mkdir(); "
            "print('staged', flush=True); time.sleep(60)")
    creator = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert creator.stdout.readline().strip() == "staged"
        staging = tmp_path / ".20260102-000000-bbbbbb.creating"
        assert Store(tmp_path).set_ids() == [] and staging.is_dir()  # its creator is alive: kept
    finally:
        creator.kill()
        creator.wait()
    assert Store(tmp_path).set_ids() == [] and not staging.exists()


def test_a_fresh_staging_folder_without_its_lock_yet_is_kept_an_old_one_removed(tmp_path):
    fresh, old = tmp_path / ".20260103-000000-cccccc.creating", tmp_path / ".20260104-000000-dddddd.creating"
    fresh.mkdir()
    old.mkdir()
    _age(old, 600)
    Store(tmp_path).set_ids()
    assert fresh.exists() and not old.exists()


def test_a_half_done_delete_is_finished_unless_its_deleter_still_works(tmp_path):
    make_set(Store(tmp_path), SET)
    trash = tmp_path / f".{SET}.deleting"
    os.rename(tmp_path / SET, trash)  # what a kill during `jobman delete` leaves
    busy = tmp_path / ".20260105-000000-eeeeee.deleting"
    busy.mkdir()
    with open(busy / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # its deleter is still at work
        assert Store(tmp_path).set_ids() == []
        assert not trash.exists() and busy.exists()
    Store(tmp_path).set_ids()
    assert not busy.exists()


def test_a_link_named_like_a_leftover_is_removed_never_followed(tmp_path):
    target = tmp_path / "outside"
    target.mkdir()
    (target / "precious").write_text("keep")
    store = tmp_path / "store"
    store.mkdir()
    (store / f".{SET}.deleting").symlink_to(target)
    Store(store).set_ids()
    assert not os.path.lexists(store / f".{SET}.deleting") and (target / "precious").read_text() == "keep"


def test_a_staging_folder_whose_lock_appears_while_it_is_looked_at_is_kept(tmp_path, monkeypatch):
    # the creator links its (already held) lock into the folder just after a reader found no lock
    from jobman import leftovers
    from jobman.locks import hold_lock

    folder = tmp_path / f".20261202-000000-000abcd{leftovers.CREATING}"
    folder.mkdir()
    real = leftovers.lock_is_held
    held = []

    def lock_is_held(lock):
        answer = real(lock)
        if not held:  # the creator's move, between the reader's questions
            held.append(hold_lock(lock, "s"))
            held[0].__enter__()
        return answer

    monkeypatch.setattr(leftovers, "lock_is_held", lock_is_held)
    try:
        assert leftovers.tidy_root(tmp_path) == []
        assert folder.is_dir() and (folder / "lock").exists()
    finally:
        held[0].__exit__(None, None, None)
