"""Where a command's output goes (``-o FILE``): stdout, a FIFO or device, or a regular file
replaced atomically; never through a symbolic link. Shared by ``export`` and ``plot``."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from jobman.cli.app import terminal
from jobman.exceptions import JobmanError


@contextmanager
def open_output(output: Optional[Path], binary: bool = False, command: str = "export"
                ) -> Iterator[Any]:
    """Where ``command`` writes: stdout (no ``output``, or ``-``); a FIFO or character device
    (``/dev/null``), streamed into; or a regular file, replaced atomically (all or nothing,
    keeping its mode). A link is refused (never replaced, never written through), and so is
    anything else."""
    if output is None or str(output) == "-":
        yield terminal.out
        return
    try:
        mode: Optional[int] = os.lstat(output).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise JobmanError(f"cannot write {output}: {error.strerror or error}") from None
    if mode is not None and stat.S_ISLNK(mode):
        raise JobmanError(f"{output} is a symbolic link; {command} never replaces a link nor writes "
                          "through one: give the path it points to")
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        with stream_into(output, binary) as stream:
            yield stream
        return
    if mode is not None and not stat.S_ISREG(mode):
        raise JobmanError(f"cannot write {output}: not a regular file, a FIFO or a character device")
    with replace_atomically(output, None if mode is None else stat.S_IMODE(mode), binary) as stream:
        yield stream


@contextmanager
def stream_into(output: Path, binary: bool = False) -> Iterator[Any]:
    """Write straight into a FIFO or a device (no temporary file: there is nothing to replace)."""
    try:
        fd = os.open(output, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        raise JobmanError(f"cannot write {output}: {error.strerror or error}") from None
    try:
        with (open(fd, "wb") if binary else open(fd, "w", encoding="utf-8", newline="")) as stream:
            yield stream
    except OSError as error:
        raise JobmanError(f"cannot write {output}: {error.strerror or error}") from None


@contextmanager
def replace_atomically(output: Path, mode: Optional[int], binary: bool = False) -> Iterator[Any]:
    """A temporary file renamed onto ``output`` only when everything was written."""
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
        if mode is not None:
            os.fchmod(fd, mode)  # the replaced file keeps its permissions
        stream = open(fd, "wb") if binary else open(fd, "w", encoding="utf-8", newline="")
    except OSError as error:
        raise JobmanError(f"cannot write {output}: {error.strerror or error}") from None
    try:
        with stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, output)
    except OSError as error:
        raise JobmanError(f"cannot write {output}: {error.strerror or error}") from None
    finally:
        tmp.unlink(missing_ok=True)
