"""Where IBM backends come from: the account's service (``ibm_*``) or the fake devices
(``fake_*``), and the catalogue ``jobman backends`` prints.

Credentials are qiskit-ibm-runtime's own: a saved account (``QiskitRuntimeService.save_account``,
picked with ``--account NAME``), or its environment variables (``QISKIT_IBM_TOKEN``,
``QISKIT_IBM_URL``, ``QISKIT_IBM_INSTANCE``, ``QISKIT_IBM_CHANNEL``). jobman passes on only the
account name and the instance, and never reads, prints or stores a token.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from jobman.exceptions import BackendError, UsageError

#: Executions (circuits x shots) one Sampler job may hold: the limit IBM Quantum enforces.
MAX_EXECUTIONS = 10_000_000
#: Upload size jobman keeps a job under by default (``--max-payload`` changes it). The
#: documented input limit is higher (:data:`DOCUMENTED_INPUT_LIMIT`), but uploads of tens of MB
#: have seen connection resets; 20 MB leaves room for the request wrapper.
MAX_PAYLOAD_BYTES = 20_000_000
#: IBM Quantum's documented limit on a job's input: 300 MB.
DOCUMENTED_INPUT_LIMIT = 300_000_000

NO_ACCOUNT_HINT = ("save one with QiskitRuntimeService.save_account(token=..., instance=..., "
                   "name=...) and pass --account NAME, or set QISKIT_IBM_TOKEN and QISKIT_IBM_INSTANCE")


@dataclass(frozen=True)
class BackendRow:
    """One line of ``jobman backends``."""

    name: str
    source: str  # "fake" (local testing mode) or "ibm" (the account's service)
    num_qubits: int | None
    pending_jobs: int | None
    operational: bool | None
    status: str | None
    max_executions: int = MAX_EXECUTIONS
    max_payload_bytes: int | None = MAX_PAYLOAD_BYTES  # None: local testing mode uploads nothing

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def connect(account: str | None = None, instance: str | None = None) -> Any:
    """A ``QiskitRuntimeService`` for the named saved account (or the client's default account
    or environment variables), on ``instance`` if given."""
    from qiskit_ibm_runtime import QiskitRuntimeService
    from qiskit_ibm_runtime.accounts import AccountNotFoundError

    try:
        return QiskitRuntimeService(name=account, instance=instance)
    except AccountNotFoundError:
        what = f"no saved IBM Quantum account named {account!r}" if account else \
            "no IBM Quantum account is configured"
        raise UsageError(f"{what}: {NO_ACCOUNT_HINT}") from None
    except Exception as error:
        from jobman.backends.ibm_errors import ErrorKind, classify, error_text

        raise BackendError(f"cannot connect to IBM Quantum: {_first_line(error_text(error))}",
                           transient=classify(error) is ErrorKind.TRANSIENT) from None


def fake_backends() -> dict[str, Any]:
    """Every fake device of qiskit-ibm-runtime by name (``fake_manila``, ...)."""
    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {backend.name: backend for backend in FakeProviderForBackendV2().backends()}


def fake_backend(name: str) -> Any:
    """The fake device called ``name``, or UsageError pointing at ``jobman backends``."""
    backends = fake_backends()
    if name not in backends:
        raise UsageError(f"unknown fake backend {name!r}; run `jobman backends` to see them")
    return backends[name]


def service_backend(service: Any, name: str) -> Any:
    """The account's backend called ``name``, or an error naming the ones it has."""
    try:
        return service.backend(name)
    except Exception as error:
        from jobman.backends.ibm_errors import ErrorKind, classify, error_text

        kind = classify(error)
        if kind is ErrorKind.TRANSIENT:
            raise BackendError(f"cannot reach IBM Quantum backend {name!r}: "
                               f"{_first_line(error_text(error))}", transient=True) from None
        raise UsageError(f"IBM Quantum backend {name!r} is not available to this account "
                         f"({_first_line(error_text(error))}); run `jobman backends`") from None


def fake_rows() -> list[BackendRow]:
    """The fake devices (always available, offline), sorted by name."""
    return [_row(backend, "fake") for _, backend in sorted(fake_backends().items())]


def account_rows(account: str | None, instance: str | None) -> list[BackendRow]:
    """The backends the account sees, with their queue lengths, sorted by name."""
    service = connect(account, instance)
    try:
        backends = service.backends()
    except Exception as error:
        from jobman.backends.ibm_errors import error_text

        raise BackendError(f"cannot list IBM Quantum backends: {_first_line(error_text(error))}") from None
    return [_row(backend, "ibm") for backend in sorted(backends, key=lambda b: b.name)]


def account_rows_within(account: str | None, instance: str | None, timeout: float
                        ) -> list[BackendRow]:
    """:func:`account_rows`, giving up after ``timeout`` seconds (a silent network must not hang
    a listing); the query goes on in a daemon thread that dies with the process."""
    box: dict[str, Any] = {}

    def query() -> None:
        try:
            box["rows"] = account_rows(account, instance)
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error

    worker = threading.Thread(target=query, daemon=True, name="jobman-ibm-backends")
    worker.start()
    worker.join(timeout)
    if "error" in box:
        raise box["error"]
    if "rows" not in box:
        raise BackendError(f"IBM Quantum did not answer within {timeout:g} s", transient=True)
    return box["rows"]


def _row(backend: Any, source: str) -> BackendRow:
    status = _status(backend)
    return BackendRow(name=backend.name, source=source, num_qubits=_num_qubits(backend),
                      pending_jobs=getattr(status, "pending_jobs", None),
                      operational=getattr(status, "operational", None),
                      status=getattr(status, "status_msg", None),
                      max_payload_bytes=None if source == "fake" else MAX_PAYLOAD_BYTES)


def _num_qubits(backend: Any) -> int | None:
    """Qubits from the configuration (a fake device builds its whole target for ``num_qubits``)."""
    try:
        return int(backend.configuration().num_qubits)
    except Exception:
        return getattr(backend, "num_qubits", None)


def _status(backend: Any) -> Any:
    """``backend.status()`` where the backend has one and it answers; None otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return backend.status()
    except Exception:
        return None


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "unknown error"
