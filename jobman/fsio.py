"""File operations inside the store: links never followed, private modes, atomic writes.

Every file the store opens goes through here. A symbolic link (or a FIFO, a device, a folder
where a file belongs) inside the store is refused with a :class:`~jobman.exceptions.StoreError`
that names it, so nothing is ever read from or written to a place outside the store.
Folders are created ``0700`` and files ``0600`` whatever the umask: results are unpublished data.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from jobman.exceptions import StoreError

FOLDER_MODE = 0o700
FILE_MODE = 0o600
#: Suffix of the temporary files :func:`atomic_write` renames into place.
TMP_SUFFIX = ".tmp"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def link_refused(path: Path) -> StoreError:
    """The error for a symbolic link found where the store keeps a file or folder."""
    return StoreError(f"{path} is a symbolic link; jobman never follows links inside the store "
                      "(remove the link, or put the real file or folder there)")


def _refuse(path: Path, error: OSError) -> StoreError:
    if error.errno == errno.ELOOP:
        return link_refused(path)
    return StoreError(f"cannot read {path}: {error.strerror or error}")


def open_regular(path: Path, flags: int = os.O_RDONLY, mode: int = FILE_MODE) -> int:
    """A file descriptor for the regular file at ``path``, never through a link.

    Raises FileNotFoundError when it is absent (and ``flags`` do not create it), StoreError
    when it is a link, a folder, a FIFO or a device.
    """
    try:
        fd = os.open(path, flags | _NOFOLLOW | _NONBLOCK, mode)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise _refuse(path, error) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"{path} is not a regular file; the store keeps only plain files")
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: Path) -> bytes:
    """The whole content of a regular file of the store (FileNotFoundError when absent)."""
    fd = open_regular(path)
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError as error:
        raise _refuse(path, error) from None
    finally:
        os.close(fd)


def read_json(path: Path) -> Any:
    """Read a JSON file written by :func:`write_json` (FileNotFoundError when absent)."""
    data = read_bytes(path)
    try:
        return json.loads(data)
    except ValueError as error:
        raise StoreError(f"cannot read {path}: not valid JSON ({error})") from None


def atomic_write(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` (mode 0600) so readers never see a partial file.

    The temporary file is created exclusively and never through a link; the rename replaces
    whatever entry is at ``path`` (a link is replaced, its target is never touched).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        tmp.unlink(missing_ok=True)  # a leftover of a dead process with our pid (never a target)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb", closefd=False) as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if sync:
            fsync_dir(path.parent)  # make the rename itself survive a power loss
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {error.strerror or error}") from None


def write_json(path: Path, data: Any, *, sync: bool = True) -> None:
    """Atomically write ``data`` as JSON."""
    atomic_write(path, json.dumps(data, separators=(",", ":")).encode(), sync=sync)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_folder(path: Path) -> None:
    """Create ``path`` (mode 0700) if absent; refuse a link or a file in its place."""
    try:
        os.mkdir(path, FOLDER_MODE)
        os.chmod(path, FOLDER_MODE, follow_symlinks=False)  # the umask may have taken bits away
    except FileExistsError:
        check_folder(path)
    except OSError as error:
        raise StoreError(f"cannot create {path}: {error.strerror or error}") from None


def check_folder(path: Path, missing_ok: bool = False) -> bool:
    """Whether ``path`` is a real folder (False when absent and ``missing_ok``); refuse a link."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if missing_ok:
            return False
        raise StoreError(f"{path} is missing") from None
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror or error}") from None
    if stat.S_ISLNK(info.st_mode):
        raise link_refused(path)
    if not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{path} is not a folder")
    return True
