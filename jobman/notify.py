"""``--notify-command``: a shell command run when a set's run ends.

The command gets the set's id, final state and exit code in its environment (for ``mail``,
``notify-send``, a chat webhook, or the next step of a pipeline). Its output goes to stderr
(stdout carries only data), and its failure is reported but never changes the set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from jobman.store import SetStore

#: Where the command is kept in the set's recorded options, so that resume and retry run it too.
OPTION = "notify_command"

def notify_command(set_store: "SetStore") -> str | None:
    """The set's recorded ``--notify-command``, if any."""
    return set_store.record.options.get(OPTION) or None


def notify(set_store: "SetStore", code: int) -> int | None:
    """Run the set's notify command, if it has one, once its run has ended (lock released).

    Its environment has ``JOBMAN_HOME`` (the store), ``JOBMAN_SET_ID``, ``JOBMAN_SET_NAME``, ``JOBMAN_SET_STATE`` (DONE,
    CANCELLED or INTERRUPTED), ``JOBMAN_FAILED`` (circuits in ERROR or CANCELLED) and
    ``JOBMAN_EXIT_CODE`` (what ``jobman run`` exits with). Returns the command's exit code
    (None when there is none, or it could not start).
    """
    command = notify_command(set_store)
    if command is None:
        return None
    from jobman.summary import summarize

    try:
        summary = summarize(set_store)
        env = dict(os.environ, JOBMAN_HOME=str(set_store.paths.root), JOBMAN_SET_ID=set_store.id, JOBMAN_SET_NAME=set_store.record.name,
                   JOBMAN_SET_STATE=summary.status.value, JOBMAN_FAILED=str(summary.failed),
                   JOBMAN_EXIT_CODE=str(code))
        _flush()
        done = subprocess.run(command, shell=True, env=env, stdin=subprocess.DEVNULL,
                              stdout=_stderr_fd(), check=False)
    except Exception as error:  # a hook must never break the run it reports on
        _warn(f"--notify-command could not run: {error} (the job set is unchanged)")
        return None
    if done.returncode != 0:
        _warn(f"--notify-command exited with code {done.returncode} (the job set is unchanged)")
    return done.returncode


def _warn(text: str) -> None:
    """On stderr, as the CLI's warnings (in a detached run: in the set's log)."""
    try:
        sys.stderr.write(f"Warning: {text}\n")
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):
        pass


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # no real stderr (captured): inherit ours
        return None


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
