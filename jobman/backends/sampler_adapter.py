"""One Sampler adapter over ``qiskit_ibm_runtime.SamplerV2`` (deprecated since 0.50) and
``qiskit_ibm_runtime.executor_sampler.Sampler``, qiskit-ibm-runtime's ``EstimatorV2`` for
estimator tasks, and the conversion of their results.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

from jobman.backends.base import CircuitOutcome
from jobman.log import swallowed
from jobman.status import JobStatus

#: ``--sampler`` choices.
SAMPLER_KINDS = ("v2", "executor")
#: Name of the register jobman adds over all clbits where a circuit's own do not cover them.
CLBITS_REGISTER = "jobman_clbits"


def make_estimator(mode: Any, tags: Sequence[str]) -> Any:
    """qiskit-ibm-runtime's ``EstimatorV2`` over ``mode`` (a backend, Session or Batch) that
    tags its jobs."""
    from qiskit_ibm_runtime import EstimatorV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        estimator = EstimatorV2(mode=mode)
    estimator.options.environment.job_tags = list(tags)
    return estimator


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


def outcomes(result: Any, memory: bool) -> list[CircuitOutcome]:
    """Per-circuit outcomes of a ``PrimitiveResult`` of Sampler pubs, in pub order: a pub of
    shape ``S`` (a slice of a sweep's points) gives ``prod(S)`` of them, in C order; an
    Estimator's pub (data with ``evs``) a point per column (see :func:`estimate_outcomes`). A
    pub whose data cannot be read fails alone, every point of it."""
    converted = []
    for pub in result:
        try:
            converted.extend(estimate_outcomes(pub) if "evs" in pub.data else pub_outcomes(pub, memory))
        except Exception as error:
            text = " ".join(str(error).split()) or type(error).__name__
            failed = CircuitOutcome(JobStatus.ERROR, error=f"cannot read the circuit's result: {text}")
            converted.extend([failed] * _points(pub))
    return converted


def pub_outcomes(pub: Any, memory: bool) -> list[CircuitOutcome]:
    """Counts over all classical bits of each point of one pub, clbit 0 least significant, as
    Aer gives them.

    The pub's data holds one field per register, in the circuit's order. When the registers
    lay the clbits out one after the other, joining them gives every clbit; otherwise the
    circuit was sent with :func:`with_clbit_register`, whose register (the last field) holds them.
    """
    import numpy as np

    fields = list(pub.data.items())
    if fields and fields[-1][0].startswith(CLBITS_REGISTER):
        joined, registers = fields[-1][1], fields[:-1]
    else:
        joined, registers = pub.join_data(), fields
    metadata = (getattr(pub, "metadata", None) or {}).get("circuit_metadata") or None
    sizes = [array.num_bits for _, array in registers]
    points = []
    for position in np.ndindex(joined.shape):
        bits = joined[position]
        counts = {hex(value): count for value, count in bits.get_int_counts().items()}
        points.append(CircuitOutcome(JobStatus.DONE, bits.num_bits, counts=counts,
                                     memory=_shot_values(bits) if memory else None,
                                     creg_sizes=list(sizes), metadata=metadata))
    return points


def estimate_outcomes(pub: Any) -> list[CircuitOutcome]:
    """The points of an Estimator's pub as jobman sends them (``jobman.backends.ibm_pubs``):
    ``evs`` of shape ``(observables, points)``, or ``(observables,)`` for one point."""
    import numpy as np

    evs, stds = np.asarray(pub.data.evs, dtype=float), np.asarray(pub.data.stds, dtype=float)
    if evs.ndim == 1:
        evs, stds = evs[:, None], stds[:, None]
    if evs.ndim != 2 or evs.shape != stds.shape:
        raise ValueError(f"expectation values of shape {evs.shape}, not (observables, points)")
    return [CircuitOutcome(JobStatus.DONE, 0, counts={}, evs=[float(v) for v in evs[:, j]],
                           stds=[float(v) for v in stds[:, j]]) for j in range(evs.shape[1])]


def _points(pub: Any) -> int:
    """How many points a pub holds (1 when even its shape cannot be read)."""
    try:
        if "evs" in pub.data:
            shape = tuple(pub.data.evs.shape)
            return shape[1] if len(shape) == 2 else 1
        return max(1, math.prod(pub.data.shape))
    except Exception as error:
        swallowed("reading a pub's shape", error)
        return 1


def with_clbit_register(circuit: Any) -> Any:
    """``circuit``, or a copy with one more register over all its clbits in order when its own
    registers do not lay the clbits out one after the other (clbits outside every register,
    overlapping or reordered registers): a Sampler returns only register data, and
    qiskit's ``BackendSamplerV2`` reads each register as consecutive clbits. The operations
    are untouched; the register only names bits for the result."""
    names = [creg.name for creg in circuit.cregs]
    if _registers_cover_clbits(circuit) and not any(n.startswith(CLBITS_REGISTER) for n in names):
        return circuit
    from qiskit import ClassicalRegister

    name = CLBITS_REGISTER
    while name in names:
        name += "_"
    copy = circuit.copy()
    copy.add_register(ClassicalRegister(name=name, bits=copy.clbits))
    return copy


def _registers_cover_clbits(circuit: Any) -> bool:
    """Whether the registers, in order, hold clbits 0, 1, 2, ... once each and all of them."""
    at = 0
    for creg in circuit.cregs:
        for bit in creg:
            if circuit.find_bit(bit).index != at:
                return False
            at += 1
    return at == circuit.num_clbits


def _shot_values(bits: Any) -> list[str]:
    """Each shot's outcome as a hex string, from the packed big-endian bytes of a BitArray."""
    array = bits.array.reshape(-1, bits.array.shape[-1])
    return [hex(int.from_bytes(row.tobytes(), "big")) for row in array]
