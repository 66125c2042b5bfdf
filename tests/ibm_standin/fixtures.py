"""Pytest fixtures for the IBM Quantum Runtime stand-in.

Import the fixtures into a test module (or a conftest.py); ``tests/`` is on ``sys.path``
when pytest collects this repository's tests, as for ``cli_support``::

    from ibm_standin.fixtures import ibm_standin, ibm_service, make_runtime_service  # noqa: F401

A subprocess (e.g. a jobman CLI run) reaches the same stand-in when its environment
contains ``ibm_standin.env()`` (the fixture sets it in ``os.environ``) and it is given
``token=ibm_standin.api_key``, ``instance=ibm_standin.instance_crn``, ``url=ibm_standin.url``.

``ibm_standin`` starts a fresh :class:`~.server.StandinService` on 127.0.0.1 for the
test, points the client's IBM Cloud calls at it through the environment (``IAM_URL``,
``GLOBAL_SEARCH_URL``, ``GLOBAL_CATALOG_URL``; undone after the test) and yields it.
``ibm_service`` is a real ``QiskitRuntimeService`` connected to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from qiskit_ibm_runtime import QiskitRuntimeService

from .server import StandinService


def make_runtime_service(standin: StandinService, **overrides: Any) -> QiskitRuntimeService:
    """Build a real ``QiskitRuntimeService`` talking to ``standin``.

    The environment must carry ``standin.env()`` (the ``ibm_standin`` fixture does it);
    ``overrides`` replace any of ``channel``, ``token``, ``instance``, ``url``.
    """
    return QiskitRuntimeService(**{**standin.client_kwargs(), **overrides})


@pytest.fixture
def ibm_standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinService]:
    """A running stand-in service with the environment pointed at it."""
    standin = StandinService().start()
    for key, value in standin.env().items():
        monkeypatch.setenv(key, value)
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def ibm_service(ibm_standin: StandinService) -> QiskitRuntimeService:
    """A ``QiskitRuntimeService`` (channel ``ibm_quantum_platform``) bound to ``ibm_standin``."""
    return make_runtime_service(ibm_standin)
