"""The writer's lock: never seen free while its creator works; a second holder is refused."""

from __future__ import annotations

import os

import pytest

from jobman import locks
from jobman.exceptions import SetLockedError
from jobman.locks import hold_lock, lock_is_held


def test_a_new_lock_file_is_locked_before_it_has_its_name(tmp_path, monkeypatch):
    lock = tmp_path / "lock"
    seen = []
    real_link = os.link

    def link(src, dst, *args, **kwargs):
        seen.append(lock_is_held(src))  # what a reader opening it by name would find
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(locks.os, "link", link)
    with hold_lock(lock, "s"):
        assert seen == [True] and lock_is_held(lock)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["lock"]  # no temporary left
    assert not lock_is_held(lock)


def test_a_real_holder_is_refused(tmp_path):
    lock = tmp_path / "lock"
    with hold_lock(lock, "s"):
        with pytest.raises(SetLockedError, match="being run by another process"):
            with hold_lock(lock, "s"):
                pass


def test_a_writer_waits_for_a_readers_probe_instead_of_refusing(tmp_path, monkeypatch):
    # a reader's probe (lock_is_held) holds the lock shared for an instant: not a writer
    lock = tmp_path / "lock"
    lock.touch()
    probe = os.open(lock, os.O_RDONLY)
    locks.fcntl.flock(probe, locks.fcntl.LOCK_SH)
    pauses = []

    def pause(seconds):  # the probe lets go while the writer waits
        pauses.append(seconds)
        if len(pauses) == 3:
            os.close(probe)

    writer = os.open(lock, os.O_RDWR)
    try:
        locks.lock_exclusive(writer, "s", pause=pause)
        assert len(pauses) == 3 and lock_is_held(lock)
    finally:
        os.close(writer)


def test_a_writer_is_refused_at_once_by_another_writer_and_after_a_while_by_a_stuck_reader(tmp_path):
    lock = tmp_path / "lock"
    pauses = []
    with hold_lock(lock, "s"):
        fd = os.open(lock, os.O_RDWR)
        with pytest.raises(SetLockedError, match="being run by another process"):
            locks.lock_exclusive(fd, "s", pause=pauses.append)
        os.close(fd)
    assert pauses == []  # an exclusive holder is a writer: no waiting
    reader = os.open(lock, os.O_RDONLY)
    locks.fcntl.flock(reader, locks.fcntl.LOCK_SH)
    fd = os.open(lock, os.O_RDWR)
    try:
        with pytest.raises(SetLockedError):
            locks.lock_exclusive(fd, "s", pause=pauses.append)
        assert sum(pauses) >= locks.PROBE_WAIT and not lock_is_held(lock)  # shared: no writer
    finally:
        os.close(fd)
        os.close(reader)
