"""Execution of ``executor`` program jobs (``qiskit_ibm_runtime.executor_sampler.Sampler``).

The client-side Sampler turns pubs into a ``QuantumProgram`` and submits it to the
``executor`` program with pydantic-encoded params (``ibm_quantum_schemas``).  The
service answers with a ``QuantumProgramResultModel`` JSON document; the client's
``ExecutorResultDecoder`` + ``ClientSideSamplerResultDecoder`` post-process it into a
``PrimitiveResult``.  This module mirrors what the client's own local-testing mode
(``qiskit_ibm_runtime.fake_provider.executor.run_quantum_program``) does, minus its
rounding of angles to Clifford values, and encodes the outcome as the service would.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import numpy as np
from ibm_quantum_schemas.common import CompressedTensorModel
from ibm_quantum_schemas.executor.version_2_0 import (
    ChunkPart,
    ChunkSpan,
    ItemMetadataModel,
    MetadataModel,
    QuantumProgramResultItemModel,
    QuantumProgramResultModel,
)
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import SamplerV2 as AerSamplerV2
from qiskit_ibm_runtime.fake_provider.executor.broadcast_sample import broadcast_sample
from qiskit_ibm_runtime.quantum_program.converters.converters_2_0 import passthrough_data_to_2_0
from qiskit_ibm_runtime.quantum_program.params_converters import QUANTUM_PROGRAM_PARAMS_CONVERTERS
from samplomatic.quantum_program import CircuitItem, SamplexItem

from .simulate import DECODE_LOCK, JobExecutionError


def run_executor(raw_params: str, simulator: AerSimulator, seed: int | None) -> str:
    """Run an ``executor`` job and return its ``QuantumProgramResultModel`` JSON (v2.0)."""
    try:
        params = json.loads(raw_params)
        converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS[params["schema_version"]]
        with DECODE_LOCK:  # see simulate.DECODE_LOCK
            program, _options = converter.decoder(converter.model.model_validate(params))
    except Exception as ex:  # noqa: BLE001 - any decoding problem is a validation error
        raise JobExecutionError(1002, f"Error in the validation process of the job: {ex}") from ex

    sampler = AerSamplerV2.from_backend(simulator, seed=seed)
    rng = np.random.default_rng(seed)
    start = datetime.now(timezone.utc)
    items, parts = [], []
    for idx, item in enumerate(program.items):
        if isinstance(item, CircuitItem):
            extra: dict[str, np.ndarray] = {}
            if item.circuit_arguments is not None:
                bindings = BindingsArray({tuple(item.circuit.parameters): item.circuit_arguments})
            else:
                bindings = BindingsArray(shape=tuple(item.shape))
        elif isinstance(item, SamplexItem):
            if not getattr(item.samplex, "_finalized", True):
                item.samplex.finalize()  # deserialised samplexes come back un-finalised
            extra = broadcast_sample(item.samplex, item.samplex_arguments, item.shape, rng)
            bindings = BindingsArray(
                {tuple(item.circuit.parameters): extra.pop("parameter_values")}
            )
        else:  # pragma: no cover - future item kinds
            raise JobExecutionError(1002, f"Unsupported quantum program item {type(item)}")
        res = sampler.run([SamplerPub(item.circuit, bindings, program.shots)]).result()[0]
        data = {**extra}
        data.update({k: ba.to_bool_array(order="little") for k, ba in dict(res.data).items()})
        items.append(
            QuantumProgramResultItemModel(
                results={k: CompressedTensorModel.from_numpy(np.asarray(v)) for k, v in data.items()},
                metadata=ItemMetadataModel(),
            )
        )
        size = math.prod(item.shape)
        parts.append(
            ChunkPart(
                idx_item=idx,
                size=size,
                permutation=list(range(len(item.shape))),
                element_range=(0, size, 1),
            )
        )
    stop = datetime.now(timezone.utc)

    model = QuantumProgramResultModel(
        data=items,
        metadata=MetadataModel(chunk_timing=[ChunkSpan(start=start, stop=stop, parts=parts)]),
        passthrough_data=passthrough_data_to_2_0(program.passthrough_data),
        semantic_role=program._semantic_role,
    )
    return model.model_dump_json()
