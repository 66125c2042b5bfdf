"""One Sampler adapter over ``qiskit_ibm_runtime.SamplerV2`` (deprecated since 0.50) and
``qiskit_ibm_runtime.executor_sampler.Sampler``, and the conversion of their results.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

from jobman.backends.base import CircuitOutcome
from jobman.status import JobStatus

#: ``--sampler`` choices.
SAMPLER_KINDS = ("v2", "executor")
#: JSON a pub adds around its circuit (shots, empty parameter values, brackets).
PUB_OVERHEAD_BYTES = 64


def make_sampler(kind: str, mode: Any, tags: Sequence[str]) -> Any:
    """A Sampler of ``kind`` over ``mode`` (a backend, Session or Batch) that tags its jobs."""
    if kind == "executor":
        from qiskit_ibm_runtime.executor_sampler import Sampler

        sampler = Sampler(mode=mode)
    elif kind == "v2":
        from qiskit_ibm_runtime import SamplerV2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            sampler = SamplerV2(mode=mode)
    else:
        raise ValueError(f"unknown sampler {kind!r}; choose one of {', '.join(SAMPLER_KINDS)}")
    sampler.options.environment.job_tags = list(tags)
    return sampler


def payload_bytes(circuits: Sequence[Any]) -> int:
    """Bytes the circuits take in a job's upload: each is QPY, compressed and base64-encoded
    into the JSON body by the client's ``RuntimeEncoder``, plus a little per pub."""
    import json

    from qiskit_ibm_runtime.utils.json import RuntimeEncoder

    return sum(len(json.dumps(circuit, cls=RuntimeEncoder)) + PUB_OVERHEAD_BYTES for circuit in circuits)


def outcomes(result: Any, memory: bool) -> list[CircuitOutcome]:
    """Per-circuit outcomes of a ``PrimitiveResult`` of Sampler pubs, in pub order."""
    return [pub_outcome(pub, memory) for pub in result]


def pub_outcome(pub: Any, memory: bool) -> CircuitOutcome:
    """Counts over all classical bits of one pub (registers joined as Qiskit orders clbits)."""
    bits = pub.join_data()
    counts = {hex(value): count for value, count in bits.get_int_counts().items()}
    shots = _shot_values(bits) if memory else None
    return CircuitOutcome(JobStatus.DONE, bits.num_bits, counts=counts, memory=shots)


def _shot_values(bits: Any) -> list[str]:
    """Each shot's outcome as a hex string, from the packed big-endian bytes of a BitArray."""
    array = bits.array.reshape(-1, bits.array.shape[-1])
    return [hex(int.from_bytes(row.tobytes(), "big")) for row in array]
