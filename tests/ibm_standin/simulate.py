"""Execution of stand-in jobs with Qiskit Aer, and encoding of their results.

The real IBM Quantum Runtime service stores a job's result as a JSON document that
the client decodes with :class:`qiskit_ibm_runtime.RuntimeDecoder` (programs
``sampler`` and ``estimator``), or as a pydantic ``QuantumProgramResultModel`` (program ``executor``,
used by ``qiskit_ibm_runtime.executor_sampler.Sampler``).  This module produces
the same documents from an Aer simulation, so that the unmodified client turns
them into a real ``PrimitiveResult`` of ``SamplerPubResult`` / ``BitArray`` (or of
``PubResult`` with ``evs`` and ``stds``).
"""

from __future__ import annotations

import json
import math
import threading
from datetime import datetime, timezone
from typing import Any

import numpy as np
from qiskit.primitives import PrimitiveResult, PubResult, SamplerPubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2
from qiskit_ibm_runtime import RuntimeDecoder, RuntimeEncoder
from qiskit_ibm_runtime.execution_span import DoubleSliceSpan, ExecutionSpans

DEFAULT_SHOTS = 4096
"""Shots used by the real sampler when neither the pub nor the options give any."""
DEFAULT_PRECISION = 0.015625
"""Precision used by the real estimator when neither the pub nor the options give any."""

_SIM_CACHE: dict[tuple[str, bool], AerSimulator] = {}
_SIM_LOCK = threading.Lock()


#: One decoding at a time across the stand-in's job threads. Loading QPY can ``ast.parse``
#: parameter expressions, and CPython 3.11 keeps the AST converter's recursion depth in state
#: that threads share (python/cpython gh-106905 and the reports around it): two jobs decoded at
#: once failed one with "AST constructor recursion depth mismatch" (seen once in CI on 3.11.7),
#: which the real service never does.
DECODE_LOCK = threading.Lock()


class JobExecutionError(Exception):
    """A job could not be executed; carries the error code the job should fail with."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def simulator_for(fake_backend_cls: type, noisy: bool) -> AerSimulator:
    """Return a (cached) Aer simulator, noiseless or with the fake backend's noise model."""
    key = (fake_backend_cls.__name__, noisy)
    with _SIM_LOCK:
        if key not in _SIM_CACHE:
            _SIM_CACHE[key] = (
                AerSimulator.from_backend(fake_backend_cls()) if noisy else AerSimulator()
            )
        return _SIM_CACHE[key]


def decode_params(raw_params: str) -> dict:
    """Decode the ``params`` of a job submission the way the server-side program does."""
    return json.loads(raw_params, cls=RuntimeDecoder)


def run_program(
    program_id: str,
    raw_params: str,
    simulator: AerSimulator,
    seed: int | None,
) -> str:
    """Run a job's program on ``simulator`` and return the result text the API serves.

    Raises:
        JobExecutionError: the parameters are invalid or the program is unsupported.
    """
    if program_id == "sampler":
        try:
            with DECODE_LOCK:
                params = decode_params(raw_params)
                pubs = _sampler_pubs(params)
        except Exception as ex:  # noqa: BLE001 - any decoding problem is a validation error
            raise JobExecutionError(1002, f"Error in the validation process of the job: {ex}") from ex
        return _run_sampler(pubs, simulator, seed)
    if program_id == "estimator":
        try:
            with DECODE_LOCK:
                pubs = _estimator_pubs(decode_params(raw_params))
        except Exception as ex:  # noqa: BLE001 - any decoding problem is a validation error
            raise JobExecutionError(1002, f"Error in the validation process of the job: {ex}") from ex
        return _run_estimator(pubs, simulator, seed)
    if program_id == "executor":
        from .executor import run_executor  # imported lazily: samplomatic is heavy

        return run_executor(raw_params, simulator, seed)
    raise JobExecutionError(1002, f"Program {program_id!r} is not supported by the stand-in.")


def _sampler_pubs(params: dict) -> list[SamplerPub]:
    """Rebuild ``SamplerPub`` objects from decoded SamplerV2 params.

    The client encodes each pub as ``[circuit, parameter_values_array, shots]``.
    """
    options = params.get("options") or {}
    default_shots = options.get("default_shots") or DEFAULT_SHOTS
    pubs = []
    for raw in params["pubs"]:
        raw = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        circuit = raw[0]
        values = raw[1] if len(raw) > 1 else None
        shots = raw[2] if len(raw) > 2 and raw[2] is not None else default_shots
        if circuit.num_parameters == 0:
            bindings = BindingsArray(shape=np.shape(values)[:-1] if values is not None and np.ndim(values) > 1 else ())
        else:
            bindings = BindingsArray({tuple(circuit.parameters): np.asarray(values, dtype=float)})
        pubs.append(SamplerPub(circuit, bindings, int(shots)))
    return pubs


def _estimator_pubs(params: dict) -> list[EstimatorPub]:
    """Rebuild ``EstimatorPub`` objects from decoded EstimatorV2 params: each pub is
    ``[circuit, observables, parameter_values, precision]``, the precision None for the
    options' default."""
    options = params.get("options") or {}
    default = options.get("default_precision") or DEFAULT_PRECISION
    pubs = []
    for raw in params["pubs"]:
        raw = list(raw)
        circuit, observables = raw[0], raw[1]
        values = raw[2] if len(raw) > 2 else None
        precision = raw[3] if len(raw) > 3 and raw[3] is not None else default
        pub = EstimatorPub.coerce((circuit, observables, values, precision) if values is not None
                                  else (circuit, observables, None, precision))
        pub.validate()
        pubs.append(pub)
    return pubs


def _run_estimator(pubs: list[EstimatorPub], simulator: AerSimulator, seed: int | None) -> str:
    """Expectation values of estimator pubs by Aer (noise of the pub's precision, seeded),
    encoded like the real EstimatorV2 program's result."""
    run_options = {} if seed is None else {"seed_simulator": seed}
    noise = getattr(simulator.options, "noise_model", None)
    estimator = AerEstimatorV2(options={"backend_options": {"noise_model": noise} if noise else {},
                                        "run_options": run_options})
    aer_result = estimator.run(pubs).result()
    pub_results = [PubResult(res.data, metadata={"target_precision": pub.precision,
                                                 "circuit_metadata": pub.circuit.metadata or {}})
                   for pub, res in zip(pubs, aer_result)]
    return json.dumps(PrimitiveResult(pub_results, metadata={"version": 2}), cls=RuntimeEncoder)


def _run_sampler(pubs: list[SamplerPub], simulator: AerSimulator, seed: int | None) -> str:
    """Simulate sampler pubs and encode the result like the real SamplerV2 program."""
    start = datetime.now(timezone.utc)
    aer_result = AerSamplerV2.from_backend(simulator, seed=seed).run(pubs).result()
    stop = datetime.now(timezone.utc)

    pub_results = [
        SamplerPubResult(data=res.data, metadata={"circuit_metadata": pub.circuit.metadata or {}})
        for pub, res in zip(pubs, aer_result)
    ]
    spans = ExecutionSpans(
        [
            DoubleSliceSpan(
                start,
                stop,
                {
                    idx: (pub.shape + (pub.shots,), slice(0, math.prod(pub.shape)), slice(0, pub.shots))
                    for idx, pub in enumerate(pubs)
                },
            )
        ]
    )
    result = PrimitiveResult(
        pub_results, metadata={"execution": {"execution_spans": spans}, "version": 2}
    )
    return json.dumps(result, cls=RuntimeEncoder)


def result_summary(result_text: str) -> Any:
    """Decode a stored result text (handy in tests that inspect the server side)."""
    return json.loads(result_text, cls=RuntimeDecoder)
