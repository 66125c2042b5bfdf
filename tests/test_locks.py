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
