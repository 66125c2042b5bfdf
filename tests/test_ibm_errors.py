"""The IBM status and error tables, fed the exceptions the real client raises (see
test_ibm_standin.py for where each one comes from)."""

from __future__ import annotations

import pytest
import requests
from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import (IBMInputValueError, IBMNotAuthorizedError, IBMRuntimeError,
                                           RuntimeInvalidStateError, RuntimeJobFailureError,
                                           RuntimeJobNotFound,
                                           RuntimeJobMaxTimeoutError)

from jobman.backends.ibm import IBMBackend
from jobman.backends.ibm_errors import ErrorKind, classify, error_code, error_text, map_status
from jobman.exceptions import BackendError
from jobman.status import JobStatus

BODY = '{"errors": [{"code": %d, "message": "%s"}], "status_code": %d}'


def submit_error(status: int, code: int | None = None, message: str = "") -> IBMRuntimeError:
    """``IBMRuntimeError("Failed to run program: ...")`` with the RequestsApiError in __context__,
    as ``SamplerV2.run`` raises it."""
    detail = f"'{status} Client Error: for url: http://x/jobs. " + (BODY % (code, message, status)
                                                                    if code else "") + "'"
    error = IBMRuntimeError(f"Failed to run program: {detail}")
    error.__context__ = RequestsApiError(detail, status)
    return error


CASES = [
    (submit_error(-1, None, "Max retries exceeded: too many 500 error responses"), ErrorKind.TRANSIENT),
    (submit_error(429, 1202, "Too many requests."), ErrorKind.TRANSIENT),
    (submit_error(400, 3458, "You have reached the limit of 3 pending jobs."), ErrorKind.PENDING_LIMIT),
    (submit_error(400, 1217, "Session has been closed."), ErrorKind.SESSION_CLOSED),
    (IBMRuntimeError("The session is closed."), ErrorKind.SESSION_CLOSED),
    (submit_error(400, 1234, "Invalid input."), ErrorKind.PERMANENT),
    (RuntimeJobFailureError("Unable to retrieve job result. Error code 1010; backend error."),
     ErrorKind.TRANSIENT),
    (RuntimeJobFailureError("Unable to retrieve job result. Error code 1517; Error in job execution."),
     ErrorKind.PERMANENT),
    (RuntimeJobFailureError("Unable to retrieve job result. Error code 1217; Session has been closed."),
     ErrorKind.SESSION_CLOSED),
    (RuntimeJobMaxTimeoutError("Error code 1305; Ran too long"), ErrorKind.SPLIT),
    (RuntimeJobFailureError("Unable to retrieve job result. Error code 5302; result too large"),
     ErrorKind.SPLIT),
    (RuntimeInvalidStateError("Unable to retrieve result for job d1. Job was cancelled."),
     ErrorKind.PERMANENT),
    (IBMNotAuthorizedError("401 Client Error: Unauthorized"), ErrorKind.PERMANENT),
    (IBMInputValueError("circuits are not ISA"), ErrorKind.PERMANENT),
    (RequestsApiError("404 Client Error: Not Found", 404), ErrorKind.NOT_FOUND),  # never retried,
    (RuntimeJobNotFound("Job not found"), ErrorKind.NOT_FOUND),  # but the job is known to be gone
    (RequestsApiError("503 Server Error", 503), ErrorKind.TRANSIENT),
    (requests.exceptions.ConnectionError("connection reset by peer"), ErrorKind.TRANSIENT),
]


@pytest.mark.parametrize("error,kind", CASES, ids=[f"{type(e).__name__}-{k.value}-{i}"
                                                   for i, (e, k) in enumerate(CASES)])
def test_every_client_error_has_its_kind(error, kind):
    assert classify(error) is kind


def test_messages_are_read_from_message_not_repr():
    error = RuntimeJobFailureError("Error code 1305; too long")
    assert str(error).startswith("'")  # QiskitError.__str__ is repr(message)
    assert error_text(error) == "Error code 1305; too long" and error_code(error) == "1305"


@pytest.mark.parametrize("raw,expected", [
    ("INITIALIZING", JobStatus.QUEUED), ("QUEUED", JobStatus.QUEUED), ("RUNNING", JobStatus.RUNNING),
    ("DONE", JobStatus.DONE), ("ERROR", JobStatus.ERROR), ("CANCELLED", JobStatus.CANCELLED),
    (QiskitJobStatus.INITIALIZING, JobStatus.QUEUED), (QiskitJobStatus.VALIDATING, JobStatus.QUEUED),
    (QiskitJobStatus.QUEUED, JobStatus.QUEUED), (QiskitJobStatus.RUNNING, JobStatus.RUNNING),
    (QiskitJobStatus.DONE, JobStatus.DONE), (QiskitJobStatus.ERROR, JobStatus.ERROR),
    (QiskitJobStatus.CANCELLED, JobStatus.CANCELLED), ("SOMETHING NEW", JobStatus.QUEUED),
])
def test_runtime_strings_and_local_enums_map_through_one_table(raw, expected):
    assert map_status(raw) is expected


@pytest.fixture(scope="module")
def manila():
    return IBMBackend("fake_manila")


def test_backend_decisions_follow_the_kinds(manila):
    pending, split = submit_error(400, 3458, "limit"), RuntimeJobMaxTimeoutError("Error code 1305; long")
    assert manila.must_wait(pending) and not manila.is_transient(pending)  # waiting uses no retry
    assert manila.wants_split(split) and not manila.is_transient(split)
    assert manila.is_transient(submit_error(400, 1217, "Session has been closed."))
    translated = manila._translate("job", split)
    assert translated.code == "split" and manila.wants_split(translated)
    assert "Error code 1305; long" in str(translated) and "'" not in str(translated)
    assert manila.is_transient(BackendError("x", transient=True))
    assert not manila.wants_split(BackendError("x", code="not-a-kind"))
