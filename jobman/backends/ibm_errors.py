"""How qiskit-ibm-runtime's errors map onto jobman's: one table (its statuses go through the
shared :mod:`jobman.backends.qiskit_status` table, re-exported here).

Imported only by the IBM backend; nothing here is used by the engine directly.
"""

from __future__ import annotations

import re
from enum import Enum

from jobman.backends.qiskit_status import STATUS_TABLE, map_status  # noqa: F401  (one table for all)

#: Job error codes that say "try again" (IBM Quantum error code reference).
RETRY_CODES = frozenset({"1000", "1006", "1008", "1010", "1011"})
#: The job ran too long (1305) or its result was too large (5302): split it.
SPLIT_CODES = frozenset({"1305", "5302"})
#: Too many pending jobs: wait for one to finish, never fail.
PENDING_LIMIT_CODES = frozenset({"3458"})
#: The session or batch was closed (its max time ran out): open a new one and carry on.
SESSION_CLOSED_CODES = frozenset({"1217"})
#: What the client itself raises when a Session/Batch it knows is closed gets a job.
SESSION_CLOSED_TEXT = "session is closed"
#: HTTP statuses worth retrying.
TRANSIENT_HTTP = frozenset({408, 409, 425, 429, 500, 502, 503, 504})

_CODE = re.compile(r"(?:[Ee]rror code:?\s*|\bcode\W{0,3})(\d{4})\b")


class ErrorKind(str, Enum):
    """What to do about an error."""

    TRANSIENT = "transient"  # retry the call, or resubmit the job
    PERMANENT = "permanent"  # give up: bad input, authentication, invalid circuit
    SPLIT = "split"  # the job was too long or its result too large: halve it
    PENDING_LIMIT = "pending_limit"  # wait for a job to finish, then submit again
    SESSION_CLOSED = "session_closed"  # open a new session or batch, then submit again
    NOT_FOUND = "not_found"  # the service does not know the job (never resubmit on less)
    CIRCUIT = "circuit"  # a circuit of the job is at fault: halve the job until it fails alone


def error_text(error: BaseException) -> str:
    """An error's plain message: qiskit errors print ``repr(message)``, ``.message`` is the text."""
    message = getattr(error, "message", None)
    return message if isinstance(message, str) else str(error)


def error_code(error: BaseException) -> str | None:
    """The four-digit IBM error code mentioned by an error (or those it came from), if any."""
    for item in _chain(error):
        match = _CODE.search(error_text(item))
        if match:
            return match.group(1)
    return None


def http_status(error: BaseException) -> int | None:
    """The HTTP status of the request behind an error, if any."""
    for item in _chain(error):
        code = getattr(item, "status_code", None)
        if isinstance(code, int):
            return code
        response = getattr(item, "response", None)
        code = getattr(response, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def classify(error: BaseException) -> ErrorKind:
    """Whether an error from qiskit-ibm-runtime is worth retrying, splitting or waiting out."""
    names = {type(item).__name__ for item in _chain(error)}
    code = error_code(error)
    if code in PENDING_LIMIT_CODES:
        return ErrorKind.PENDING_LIMIT
    if code in SESSION_CLOSED_CODES or SESSION_CLOSED_TEXT in error_text(error).lower():
        return ErrorKind.SESSION_CLOSED
    if code in SPLIT_CODES or "RuntimeJobMaxTimeoutError" in names:
        return ErrorKind.SPLIT
    if "RuntimeJobNotFound" in names:
        return ErrorKind.NOT_FOUND
    if names & {"IBMNotAuthorizedError", "IBMInputValueError", "RuntimeInvalidStateError",
                "IBMAccountError"}:
        return ErrorKind.PERMANENT
    if code in RETRY_CODES:
        return ErrorKind.TRANSIENT
    status = http_status(error)
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status is not None:  # -1: no answer at all, e.g. after the client's own retries of 5xx
        transient = status < 0 or status >= 500 or status in TRANSIENT_HTTP
        return ErrorKind.TRANSIENT if transient else ErrorKind.PERMANENT
    if names & {"ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout", "ChunkedEncodingError",
                "ProtocolError", "RemoteDisconnected", "ConnectionResetError", "TimeoutError"}:
        return ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


def _chain(error: BaseException) -> list[BaseException]:
    """The error and those it was raised from or during, outermost first."""
    seen: list[BaseException] = []
    item: BaseException | None = error
    while item is not None and item not in seen and len(seen) < 10:
        seen.append(item)
        item = item.__cause__ or item.__context__
    return seen
