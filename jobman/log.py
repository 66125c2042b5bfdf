"""jobman's logger, and the one way to say that an error is ignored on purpose.

Nothing jobman swallows goes unsaid: each such error is logged at DEBUG level through
:func:`swallowed`, which ``jobman -vv`` prints (with its traceback). Warnings reach the user as
``Warning:`` lines (see :mod:`jobman.cli.output`). Library users see both through the standard
:mod:`logging` configuration of the ``jobman`` logger.
"""

from __future__ import annotations

import logging

log = logging.getLogger("jobman")


def swallowed(where: str, error: BaseException) -> None:
    """Log an error that is deliberately not raised (``where``: what was being done)."""
    log.debug("ignored in %s: %s: %s", where, type(error).__name__, error, exc_info=error)
