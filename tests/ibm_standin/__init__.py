"""Loopback stand-in for the IBM Quantum Runtime REST API, for tests.

The real, unmodified ``qiskit-ibm-runtime`` client talks to it::

    from ibm_standin import StandinService          # or tests.ibm_standin

    with StandinService() as standin:               # 127.0.0.1, random port
        os.environ.update(standin.env())            # IAM_URL, GLOBAL_SEARCH_URL, GLOBAL_CATALOG_URL
        service = QiskitRuntimeService(**standin.client_kwargs())
        backend = service.backend("ibm_fake_manila")   # or "ibm_fake_torino"

Jobs run on Aer (noiseless unless ``standin.noisy = True``).  Modules: :mod:`.server`
(HTTP routes, :class:`StandinService`), :mod:`.control` (observation and fault
injection), :mod:`.state` (jobs/sessions behaviour), :mod:`.records` (error codes and
records), :mod:`.simulate` / :mod:`.executor` (execution and result encoding),
:mod:`.fixtures` (pytest fixtures ``ibm_standin`` and ``ibm_service``).
"""

from .records import (
    PENDING_LIMIT_CODE,
    SESSION_CLOSED_CODE,
    ApiError,
    JobRecord,
    SessionRecord,
)
from .server import StandinService

__all__ = [
    "StandinService",
    "ApiError",
    "JobRecord",
    "SessionRecord",
    "PENDING_LIMIT_CODE",
    "SESSION_CLOSED_CODE",
]
