"""The writer's lock of a job set: an flock on its ``lock`` file, released when its holder dies."""

from __future__ import annotations

import errno
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from jobman.exceptions import SetLockedError, StoreError
from jobman.fsio import open_regular


@contextmanager
def hold_lock(lock_file: Path, label: str) -> Iterator[int]:
    """Hold ``lock_file`` (flock, created 0600, never through a link) or raise SetLockedError."""
    try:
        fd = open_regular(lock_file, os.O_RDWR | os.O_CREAT)
    except FileNotFoundError as error:
        raise StoreError(f"cannot open the lock of job set {label}: {error.strerror}") from None
    except StoreError as error:
        raise StoreError(f"cannot open the lock of job set {label}: {error}") from None
    try:
        lock_exclusive(fd, label)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock; the kernel does it too if we die


def lock_exclusive(fd: "int | IO[str]", label: str) -> None:
    """flock ``fd`` exclusively without waiting; SetLockedError when another holder has it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise SetLockedError(f"job set {label} is being run by another process "
                                 f"(see `jobman status {label}`)") from None
        raise StoreError(f"cannot lock job set {label}: {error.strerror or error}") from None


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
