"""``--detach``: hand a set to a background process and return at once.

The foreground process checks everything, creates (or opens) the set and takes its lock, so
errors print before anything detaches. It then starts ``jobman -v resume|retry SET`` in a new
session (``setsid``: no terminal, so closing the terminal or a SIGHUP to the shell's process
group does not reach it), stdin from /dev/null, stdout and stderr appended to the set's
``run.log``, and passes it the lock's descriptor: the set is never unlocked in between, so it
reads PENDING, then RUNNING, never INTERRUPTED, while the background process starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import IO, Any, Optional

from typing_extensions import Annotated

import typer

from jobman.cli.app import terminal
from jobman.exceptions import StoreError

DetachOption = Annotated[bool, typer.Option(
    "--detach", "-d", metavar="", rich_help_panel="Background",
    help="Print the set id and return at once; a background process runs the set (its output: "
         "`jobman logs SET`), e.g. SET=$(jobman run c.qpy --detach).")]
#: The descriptor of the set's lock, passed to the background process (not for people).
LockFdOption = Annotated[Optional[int], typer.Option(
    "--lock-fd", hidden=True, rich_help_panel="Background",
    help="The set's lock, already taken by the process that ran --detach.")]


def launch(set_store: Any, held: IO[str], command: list[str]) -> int:
    """Start ``jobman -v COMMAND SET`` in the background holding the set's lock; print the id.

    ``held`` is the lock taken in this process; it is closed here (the child keeps the lock).
    """
    log_path = set_store.paths.log_file
    try:
        with held, open(log_path, "ab") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} jobman {' '.join(command)} "
                      f"{set_store.id}: started in the background\n".encode())
            log.flush()
            child = subprocess.Popen(
                [sys.executable, "-m", "jobman", "-v", *command, set_store.id,
                 "--lock-fd", str(held.fileno())],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, pass_fds=(held.fileno(),),
                env=dict(os.environ, JOBMAN_HOME=str(set_store.paths.root.resolve())))
    except OSError as error:
        raise StoreError(f"cannot start the background process of job set {set_store.id}: "
                         f"{error.strerror or error}; run `jobman resume {set_store.id}`") from None
    terminal.data(set_store.id)
    terminal.out.flush()
    terminal.info(f"job set {set_store.id} runs in the background (pid {child.pid}); follow it with "
                  f"`jobman logs {set_store.id} --follow` or `jobman wait {set_store.id}`")
    return 0

