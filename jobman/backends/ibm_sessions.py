"""The execution mode jobs go into: a ``Batch``, a ``Session``, or the backend itself (job mode).

A :class:`SessionKeeper` opens the batch or session on first use, records it, replaces it when
the service closes it (its ``max_time`` ran out) and re-attaches a recorded one after a crash
with ``Batch.from_id`` / ``Session.from_id``. In local testing mode (fake backends) and in job
mode there is no session: jobs go straight to the backend.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, Sequence

from jobman.log import swallowed

#: ``--mode`` choices.
MODES = ("batch", "session", "job")
OPEN, CLOSED = "open", "closed"


class SessionKeeper:
    """Keeps the current Batch/Session of one backend and the records of all it used."""

    def __init__(self, mode: str, device: Any, service: Any, max_time: int | str | None,
                 local: bool, clock: Callable[[], float] = time.time) -> None:
        self.mode = mode
        self.device = device
        self.service = service
        self.max_time = max_time
        self.uses_sessions = mode != "job" and not local
        self.clock = clock
        self.records: list[dict[str, Any]] = []
        #: Modes the service refused and what was used instead (see :meth:`_fall_back`).
        self.fallbacks: list[dict[str, Any]] = []
        self._current: Any = None

    def current(self) -> Any:
        """What a Sampler gets as its ``mode``: the open batch/session (opened now if none),
        or the backend itself."""
        if self.uses_sessions and self._current is None:
            self._current = self._open()
        if not self.uses_sessions:
            return self.device
        return self._current

    def current_id(self) -> str | None:
        """The id of the open batch/session, if one is open."""
        return getattr(self._current, "session_id", None)

    def roll_over(self, closed_id: str | None = None) -> None:
        """The service closed a session: record it closed; the next :meth:`current` opens a new one.

        ``closed_id`` names the session a failed job was in; when it is not the current one
        the current one is kept (another failure already rolled over).
        """
        if self._current is None or (closed_id is not None and closed_id != self.current_id()):
            self._mark(closed_id, CLOSED)
            return
        self._mark(self.current_id(), CLOSED)
        self._current = None

    def restore(self, records: Sequence[dict[str, Any]]) -> None:
        """Adopt the records of an earlier process and re-attach its last open session."""
        self.records = [dict(record) for record in records]
        if not self.uses_sessions:
            return
        last = next((r for r in reversed(self.records)
                     if r.get("state") == OPEN and r.get("mode") == self.mode
                     and r.get("backend") == self.device.name), None)
        if last is None:
            return
        try:
            self._current = self._kind().from_id(last["id"], self.service)
        except Exception as error:  # gone, or of another kind: the next job opens a new one
            swallowed(f"reopening {self.mode} {last['id']} (a new one is opened)", error)
            self._mark(last["id"], CLOSED)

    def close(self) -> None:
        """Close the open batch/session: it takes no new jobs, queued ones still run."""
        mode, self._current = self._current, None
        if mode is None:
            return
        self._mark(getattr(mode, "session_id", None), CLOSED)
        try:
            mode.close()
        except Exception as error:  # closing is a courtesy: the service closes it at max_time anyway
            swallowed(f"closing {self.mode} {getattr(mode, 'session_id', None)}", error)

    def _open(self) -> Any:
        try:
            opened = self._kind()(backend=self.device, max_time=self.max_time)
        except Exception as error:
            if not refuses_sessions(error):
                raise
            return self._fall_back(error)
        self.records.append({"id": opened.session_id, "mode": self.mode, "backend": self.device.name,
                             "max_time": self.max_time, "opened": round(self.clock(), 3),
                             "state": OPEN})
        return opened

    def _fall_back(self, error: BaseException) -> Any:
        """The service refuses this mode (the Open plan has no sessions): use batch instead of a
        session, job mode instead of a batch, with one warning."""
        from jobman.backends.ibm_errors import error_text
        from jobman.exceptions import JobmanWarning

        fallback = "batch" if self.mode == "session" else "job"
        reason = " ".join(error_text(error).split())[:200]
        warnings.warn(JobmanWarning(f"IBM Quantum refused a {self.mode} ({reason}); running in "
                                    f"{fallback} mode instead"), stacklevel=2)
        self.fallbacks.append({"mode": self.mode, "fallback": fallback, "reason": reason})
        self.mode = fallback
        self.uses_sessions = fallback != "job"
        return self._open() if self.uses_sessions else None

    def _kind(self) -> Any:
        from qiskit_ibm_runtime import Batch, Session

        return Batch if self.mode == "batch" else Session

    def _mark(self, session_id: str | None, state: str) -> None:
        for record in self.records:
            if session_id is not None and record.get("id") == session_id and record.get("state") != state:
                record.update(state=state, closed=round(self.clock(), 3))


def refuses_sessions(error: BaseException) -> bool:
    """Whether opening a session or batch failed because the plan does not allow it (the
    service answers 403, "not authorized to run a session when using the open plan")."""
    from jobman.backends.ibm_errors import error_text, http_status

    text = error_text(error).lower()
    return ("open plan" in text or "not authorized to run a session" in text
            or (http_status(error) == 403 and "session" in text))
