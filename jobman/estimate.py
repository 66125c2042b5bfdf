"""QPU time before a job runs, and usage totals after: the arithmetic, without any backend.

A job's estimate is IBM Quantum's baseline formula (documented in the IBM Quantum guide
"Workload usage", https://quantum.cloud.ibm.com/docs/guides/estimate-job-run-time):
``overhead per job + shots * sum over circuits of (rep_delay + circuit length + init)``; the
backend supplies the overhead (:attr:`Backend.job_overhead_seconds`) and the seconds one shot
of a circuit takes (:meth:`Backend.seconds_per_shot`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from jobman.records import Attempt

#: How jobman estimates QPU time, as printed by ``--dry-run``.
ESTIMATE_METHOD = ("IBM Quantum baseline: 2 s per job + shots x (rep_delay + circuit length + init) "
                   "per circuit")


def job_seconds(overhead: float, shots: int, seconds_per_shot: float) -> float:
    """QPU seconds of one job: its overhead plus every shot of all its circuits.

    ``seconds_per_shot`` is the sum over the job's circuits of one shot's seconds."""
    return overhead + shots * seconds_per_shot


def attempt_usage(attempt: "Attempt") -> float | None:
    """The usage recorded for one attempt, in seconds (None: none reported)."""
    usage = attempt.usage or {}
    seconds = usage.get("quantum_seconds")
    if seconds is None:
        seconds = usage.get("seconds")
    return None if seconds is None else float(seconds)


def attempt_cost(attempt: "Attempt") -> float:
    """What an attempt counts against a budget: its reported usage when final, else the larger
    of what was reported so far and the estimate made before it ran."""
    reported = attempt_usage(attempt)
    final = (attempt.usage or {}).get("status") in (None, "final")
    if reported is not None and final:
        return reported
    return max(reported or 0.0, float(attempt.estimate_seconds or 0.0))


def total_usage(attempts: Iterable["Attempt"]) -> dict[str, Any]:
    """Usage over attempts: seconds reported and how many jobs reported any, the estimates
    made before they ran, what a budget counts, and the kind (``qpu`` or ``simulation``)."""
    seconds, reported, estimated, counted, kind = 0.0, 0, 0.0, 0.0, None
    for attempt in attempts:
        value = attempt_usage(attempt)
        if value is not None:
            seconds += value
            reported += 1
            kind = kind or ("qpu" if "quantum_seconds" in (attempt.usage or {}) else "simulation")
        estimated += float(attempt.estimate_seconds or 0.0)
        if attempt.job_id:
            counted += attempt_cost(attempt)
    return {"seconds": round(seconds, 3), "jobs_reported": reported, "kind": kind,
            "estimated_seconds": round(estimated, 3), "counted_seconds": round(counted, 3)}


def chunk_usage(attempts: Iterable["Attempt"]) -> float | None:
    """Seconds reported over a chunk's attempts, or None when none reported any."""
    values = [v for v in (attempt_usage(a) for a in attempts) if v is not None]
    return round(sum(values), 3) if values else None


def format_seconds(seconds: float | None) -> str:
    """``3 h 2 min``, ``4 min 5 s``, ``12.3 s``, ``0.004 s``; ``-`` for None."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
