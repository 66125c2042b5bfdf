"""jobman's logger, and the one way to say that an error is ignored on purpose.

Nothing jobman swallows goes unsaid: each such error is logged at DEBUG level through
:func:`swallowed`, which ``jobman -vv`` prints (with its traceback). Warnings reach the user as
``Warning:`` lines (see :mod:`jobman.cli.output`). Library users see both through the standard
:mod:`logging` configuration of the ``jobman`` logger.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("jobman")


def swallowed(where: str, error: BaseException) -> None:
    """Log an error that is deliberately not raised (``where``: what was being done)."""
    log.debug("ignored in %s: %s: %s", where, type(error).__name__, error, exc_info=error)


def quietly(fn: Callable[[], Any]) -> Any:
    """Best effort: the value of ``fn()``, or None if it raised (logged: ``jobman -vv`` shows it)."""
    try:
        return fn()
    except Exception as error:
        swallowed(getattr(getattr(fn, "func", fn), "__qualname__", "a best-effort call"), error)
        return None


def message(error: BaseException) -> str:
    """An error as one line of text."""
    text = " ".join(str(error).split())
    return (text if len(text) <= 500 else text[:497] + "...") or type(error).__name__
