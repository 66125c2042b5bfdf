"""The writer's lock of a job set: an flock on its ``lock`` file, released when its holder dies."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator

from jobman.exceptions import SetLockedError, StoreError
from jobman.fsio import open_regular

#: How long a writer waits for readers' probes (each a shared lock for an instant, see
#: :func:`lock_is_held`) to let go; a lock held exclusively (by a writer) is refused at once.
PROBE_WAIT = 1.0
PROBE_PAUSE = 0.005
_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


@contextmanager
def hold_lock(lock_file: Path, label: str) -> Iterator[int]:
    """Hold ``lock_file`` (flock, created 0600, never through a link) or raise SetLockedError."""
    try:
        fd = _create_held(lock_file, label)
        if fd is None:
            fd = open_regular(lock_file, os.O_RDWR)
            lock_exclusive(fd, label)
    except FileNotFoundError as error:
        raise StoreError(f"cannot open the lock of job set {label}: {error.strerror}") from None
    except StoreError as error:
        raise StoreError(f"cannot open the lock of job set {label}: {error}") from None
    try:
        yield fd
    finally:
        os.close(fd)  # closing releases the lock; the kernel does it too if we die


def _create_held(lock_file: Path, label: str) -> "int | None":
    """A new lock file that is locked from the moment it has its name, or None if it exists.

    Created under a temporary name, locked, then linked into place, so that no other process
    ever sees the lock file unlocked while its creator works (a staging folder whose lock is
    free is removed as abandoned, see :mod:`jobman.leftovers`).
    """
    if os.path.lexists(lock_file):
        return None
    tmp = lock_file.with_name(f".{lock_file.name}.{os.getpid()}.tmp")
    fd = open_regular(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    try:
        lock_exclusive(fd, label)
        try:
            os.link(tmp, lock_file)
        except FileExistsError:  # another process made it meanwhile: lock that one
            os.close(fd)
            return None
        return fd
    except BaseException:
        os.close(fd)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def lock_exclusive(fd: "int | IO[str]", label: str,
                   pause: Callable[[float], None] = time.sleep) -> None:
    """flock ``fd`` exclusively; SetLockedError when a writer (an exclusive holder) has it.

    A reader's probe holds the lock shared for an instant; a writer that meets one waits for it
    (up to PROBE_WAIT) instead of refusing as if the set were being run.
    """
    waited = 0.0
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as error:
            if error.errno not in _BUSY:
                raise StoreError(f"cannot lock job set {label}: {error.strerror or error}") from None
        if waited >= PROBE_WAIT or not _only_probed(fd):
            raise SetLockedError(f"job set {label} is being run by another process "
                                 f"(see `jobman status {label}`)")
        pause(PROBE_PAUSE)
        waited += PROBE_PAUSE


def _only_probed(fd: "int | IO[str]") -> bool:
    """Whether the lock ``fd`` could not take is held shared only (by probes), not by a writer."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


def lock_is_held(lock_file: Path) -> bool:
    """Whether a live process holds ``lock_file`` (an absent file, or a link, is not held)."""
    try:
        fd = open_regular(lock_file)
    except (OSError, StoreError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
