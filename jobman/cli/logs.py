"""``jobman logs``: the output of a set's background process (``--detach``), optionally followed."""

from __future__ import annotations

import time
from typing import Any, BinaryIO

from typing_extensions import Annotated

from jobman.cli.app import WAIT_PANEL, SetArgument, StoreOption, app, flag, open_store, terminal
from jobman.cli.status import IntervalOption
from jobman.exceptions import JobmanError


@app.command("logs")
def logs_command(
    set_id: SetArgument = None,
    follow: Annotated[bool, flag("--follow", "-f", help="Keep printing what the background process "
                                 "writes until it ends.", panel=WAIT_PANEL)] = False,
    interval: IntervalOption = 0.5,
    store: StoreOption = None,
) -> int:
    """Print the log of a job set's background runs (started with --detach).

    Example: jobman logs 20261121-0945 --follow
    """
    set_store = open_store(store).open_set(set_id)
    try:
        handle = open(set_store.paths.log_file, "rb")
    except FileNotFoundError:
        raise JobmanError(f"job set {set_store.id} has no log: only runs started with --detach "
                          "write one") from None
    except OSError as error:
        raise JobmanError(f"cannot read the log of job set {set_store.id}: "
                          f"{error.strerror or error}") from None
    with handle:
        _copy(handle)
        while follow and set_store.is_locked():
            time.sleep(interval)
            _copy(handle)
        _copy(handle)  # what was written just before the process ended
    return 0


def _copy(handle: BinaryIO) -> None:
    """Everything new in the log, to stdout."""
    out: Any = terminal.out
    data = handle.read()
    if data:
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            out.flush()
            buffer.write(data)
            buffer.flush()
        else:
            out.write(data.decode(errors="replace"))
            out.flush()
