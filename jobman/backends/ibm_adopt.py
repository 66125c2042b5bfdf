"""Jobs submitted to IBM Quantum elsewhere (a script, a notebook, another machine), found by tag
or session id and read back as jobman can track them: ``jobman adopt``.

The circuits come from each job's inputs as the service returns them (``RuntimeJobV2.inputs``):
SamplerV2 pubs ``(circuit, parameter values, shots)``, and the executor-based Sampler's circuit
items. A job whose inputs cannot be read that way (another primitive, parameter sweeps, an
undecodable document: with qiskit-ibm-runtime 0.51 that includes executor jobs, whose inputs the
client returns decoded in a form its own schema refuses) is not adopted; it is listed with the
reason instead, in the set and on stderr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobman.exceptions import BackendError, UsageError


@dataclass
class FoundJob:
    """One job at the service, with the circuits of its pubs when they could be read."""

    job_id: str
    backend: str | None
    status: str | None
    created: float | None
    session_id: str | None
    circuits: list[Any] = field(default_factory=list)
    shots: int | None = None
    problem: str | None = None  # why it cannot be adopted


def find_jobs(service: Any, tag: str | None, session_id: str | None) -> list[FoundJob]:
    """Every job carrying ``tag`` and/or in ``session_id``, oldest first, read for adoption."""
    if not tag and not session_id:
        raise UsageError("give --tag TAG or --session ID")
    query: dict[str, Any] = {"limit": None}
    if tag:
        query["job_tags"] = [tag]
    if session_id:
        query["session_id"] = session_id
    try:
        jobs = list(service.jobs(**query))
    except Exception as error:
        from jobman.backends.ibm_errors import ErrorKind, classify, error_text

        raise BackendError(f"cannot list IBM Quantum jobs: {' '.join(error_text(error).split())}",
                           transient=classify(error) is ErrorKind.TRANSIENT) from None
    found = [_read(job) for job in jobs]
    return sorted(found, key=lambda job: (job.created or 0.0, job.job_id))


def _read(job: Any) -> FoundJob:
    found = FoundJob(job_id=job.job_id(), backend=_quietly(lambda: job.backend().name),
                     status=_quietly(lambda: str(getattr(job.status(), "name", job.status()))),
                     created=_quietly(lambda: job.creation_date.timestamp()),
                     session_id=_quietly(lambda: job.session_id))
    try:
        found.circuits, found.shots = read_pubs(job.primitive_id, job.inputs)
    except Exception as error:
        text = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        if found_program(job) == "executor":  # RuntimeDecoder reshapes them; the schema refuses that
            text = f"the client returns executor inputs its own schema does not accept ({text})"
        found.problem = f"inputs not readable: {text}"
    return found


def found_program(job: Any) -> str | None:
    """The job's program (``sampler``, ``executor``, ...), if known."""
    return _quietly(lambda: job.primitive_id)


def read_pubs(program: str, inputs: dict[str, Any]) -> tuple[list[Any], int]:
    """The circuits and shots of a Sampler job's inputs (one circuit per pub)."""
    if program == "sampler":
        return _sampler_pubs(inputs)
    if program == "executor":
        return _executor_items(inputs)
    raise ValueError(f"{program!r} jobs are not Sampler jobs")


def _sampler_pubs(inputs: dict[str, Any]) -> tuple[list[Any], int]:
    circuits, shots = [], set()
    for pub in inputs.get("pubs") or []:
        circuit, values, pub_shots = (list(pub) + [None, None])[:3]
        if getattr(values, "size", 0) or circuit.num_parameters:
            raise ValueError("a pub with parameter values (a sweep) is not one circuit")
        circuits.append(circuit)
        shots.add(pub_shots or inputs.get("shots") or 1024)
    return circuits, _one_shots(shots)


def _executor_items(inputs: dict[str, Any]) -> tuple[list[Any], int]:
    from qiskit_ibm_runtime.quantum_program.params_converters import QUANTUM_PROGRAM_PARAMS_CONVERTERS

    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS[inputs["schema_version"]]
    program, _options = converter.decoder(converter.model.model_validate(inputs))
    circuits = []
    for item in program.items:
        if getattr(item, "circuit_arguments", None) is not None or item.circuit.num_parameters:
            raise ValueError("an item with parameter values (a sweep) is not one circuit")
        circuits.append(item.circuit)
    return circuits, int(program.shots)


def _one_shots(shots: set[int]) -> int:
    if len(shots) > 1:
        raise ValueError(f"pubs with different shots ({', '.join(map(str, sorted(shots)))})")
    if not shots:
        raise ValueError("no pubs")
    return int(next(iter(shots)))


def _quietly(fn: Any) -> Any:
    try:
        return fn()
    except Exception:
        return None
