"""Helpers for the IBM backend tests: jobman reaches the stand-in exactly as a user reaches IBM
Quantum, through qiskit-ibm-runtime's own account mechanisms (no hook in jobman).

``ibm_account`` puts the client's ``QISKIT_IBM_*`` variables (and the stand-in's IBM Cloud URLs)
in the environment; ``saved_account`` saves a named account with
``QiskitRuntimeService.save_account(filename=...)`` in a temporary file that the client reads as
its default ``~/.qiskit/qiskit-ibm.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from ibm_standin.fixtures import ibm_standin  # noqa: F401  (re-exported fixture)
from ibm_standin.server import StandinService
from jobman.backends.ibm import IBMBackend
from jobman.manager import JobManager

ACCOUNT_VARIABLES = ("QISKIT_IBM_TOKEN", "QISKIT_IBM_URL", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL")


def account_env(standin: StandinService) -> dict[str, str]:
    """The environment a user would set to use the stand-in's account."""
    return {**standin.env(), "QISKIT_IBM_TOKEN": standin.api_key, "QISKIT_IBM_URL": standin.url,
            "QISKIT_IBM_INSTANCE": standin.instance_crn, "QISKIT_IBM_CHANNEL": "ibm_quantum_platform"}


@pytest.fixture
def no_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No account anywhere: no variables, and an empty default account file (and a private
    store, where ``jobman backends`` remembers the account's devices)."""
    import qiskit_ibm_runtime.accounts.management as management

    monkeypatch.setenv("JOBMAN_HOME", str(tmp_path / "store"))  # the store_dir fixture's store

    for name in ACCOUNT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "qiskit-ibm.json"
    monkeypatch.setattr(management, "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE", str(path))
    return path


@pytest.fixture
def ibm_account(ibm_standin: StandinService, no_account: Path,  # noqa: F811
                monkeypatch: pytest.MonkeyPatch) -> StandinService:
    """The stand-in, reachable through the QISKIT_IBM_* variables."""
    for name, value in account_env(ibm_standin).items():
        monkeypatch.setenv(name, value)
    return ibm_standin


@pytest.fixture
def one_at_a_time(no_account: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinService]:
    """Like ``ibm_account``, on a stand-in that runs one job at a time, as a device does."""
    standin = StandinService(max_concurrent_jobs=1).start()
    for name, value in account_env(standin).items():
        monkeypatch.setenv(name, value)
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def saved_account(ibm_standin: StandinService, no_account: Path) -> str:  # noqa: F811
    """The stand-in saved as the client's account ``standin`` (variables unset); its name."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    QiskitRuntimeService.save_account(token=ibm_standin.api_key, url=ibm_standin.url,
                                      instance=ibm_standin.instance_crn, channel="ibm_quantum_platform",
                                      filename=str(no_account), name="standin")
    return "standin"


def quick_sleep(seconds: float) -> None:
    """Back-off waits shortened for tests (the engine still waits for real job states)."""
    time.sleep(min(seconds, 0.01))


def manager(store: Path) -> JobManager:
    """A JobManager that polls often and barely sleeps between retries."""
    return JobManager(store, poll_interval=0.02, sleep=quick_sleep)


def ibm_backend(name: str = "ibm_fake_manila", **options: Any) -> IBMBackend:
    """An IBM backend that asks the stand-in for job states often."""
    backend = IBMBackend(name, **options)
    backend.poll_interval = 0.02
    return backend
