"""SIGTERM and SIGHUP handled like Ctrl-C.

A batch system sends SIGTERM at a time limit (SLURM, then SIGKILL a little later); a closed ssh
terminal sends SIGHUP. While :func:`like_ctrl_c` is active, the first of either raises
:class:`~jobman.exceptions.SignalReceived` (a ``KeyboardInterrupt``) in the main thread, so
exactly what Ctrl-C does happens: the engine saves state, the backend stops its workers, the
user is told how to resume, and the process exits ``128 + signal`` (143, 129). Further signals
are ignored while that cleanup runs, so that it cannot be cut short halfway.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from jobman.exceptions import SignalReceived

#: The signals handled like Ctrl-C (SIGHUP does not exist on Windows).
HANDLED = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def like_ctrl_c() -> Iterator[None]:
    """Handle SIGTERM and SIGHUP like Ctrl-C inside the block (main thread only; elsewhere,
    or when a signal is ignored, e.g. under ``nohup``, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if not received:  # the first one interrupts; later ones must not cut the cleanup short
            received.append(signum)
            raise SignalReceived(signum)

    previous = {}
    for signum in HANDLED:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
