"""Loopback stand-in for the IBM Quantum Runtime REST API, for tests.

See :mod:`.server` for the endpoints, :mod:`.state` for the fault-injection API and
:mod:`.fixtures` for the pytest fixture.
"""

from .server import StandinService
from .state import (
    PENDING_LIMIT_CODE,
    SESSION_CLOSED_CODE,
    ApiError,
    JobRecord,
    SessionRecord,
)

__all__ = [
    "StandinService",
    "ApiError",
    "JobRecord",
    "SessionRecord",
    "PENDING_LIMIT_CODE",
    "SESSION_CLOSED_CODE",
]
