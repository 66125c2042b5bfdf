"""What killed processes leave in the store, and how it is finished or removed safely.

* ``.<name>.<pid>.tmp`` next to a file: an atomic write that never got renamed. Removed when
  its process is gone (or after an hour, in case the pid was reused).
* ``<root>/.<id>.creating``: a set killed while it was being created. Its creator holds the
  folder's ``lock`` (flock) while it works, so a folder whose lock is free is removed.
* ``<root>/.<id>.deleting``: a ``jobman delete`` killed half way. The delete is finished.

Nothing here follows a link: :func:`shutil.rmtree` removes links, never what they point to.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from jobman.fsio import TMP_SUFFIX
from jobman.locks import lock_is_held
from jobman.log import swallowed

#: A temporary file of a live process is left alone unless it is older than this (seconds).
TMP_MAX_AGE = 3600.0
#: A staging folder without a lock file is left alone while younger than this (seconds).
STAGING_GRACE = 60.0
CREATING, DELETING = ".creating", ".deleting"


def tidy_root(root: Path, now: float | None = None) -> list[Path]:
    """Remove the staging and trash folders of dead processes under ``root``; return them."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".") or not entry.name.endswith((CREATING, DELETING)):
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            path.unlink(missing_ok=True)  # never ours: a link is not a folder jobman made
            removed.append(path)
        elif entry.is_dir(follow_symlinks=False) and _abandoned(path, entry.name, now):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _abandoned(folder: Path, name: str, now: float) -> bool:
    lock = folder / "lock"
    # asked before the lock: a lock that appears between the two questions is held (it is
    # locked before it gets its name), so the folder is never taken for abandoned then
    had_lock = os.path.lexists(lock)
    if lock_is_held(lock):
        return False  # its creator (or deleter) is alive and working
    if name.endswith(CREATING) and not had_lock:
        return _age(folder, now) > STAGING_GRACE  # created a moment ago, lock not taken yet
    return True


def tidy_set(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the temporary files of dead processes in a set's folders; return them."""
    now = time.time() if now is None else now
    removed = []
    for sub in (folder, folder / "chunks", folder / "results", folder / "transpiled"):
        try:
            entries = [e for e in os.scandir(sub) if e.name.startswith(".")
                       and e.name.endswith(TMP_SUFFIX)]
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if _writer_alive(entry.name) and _age(path, now) < TMP_MAX_AGE:
                continue
            try:
                path.unlink()
                removed.append(path)
            except OSError as error:
                swallowed(f"removing the leftover {path}", error)
    return removed


def _writer_alive(name: str) -> bool:
    """Whether the process whose pid is in ``.<file>.<pid>.tmp`` still runs."""
    try:
        pid = int(name[: -len(TMP_SUFFIX)].rsplit(".", 1)[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, another user's
    return True


def _age(path: Path, now: float) -> float:
    try:
        return now - os.lstat(path).st_mtime
    except OSError:
        return 0.0
