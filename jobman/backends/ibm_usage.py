"""QPU time on IBM Quantum: the documented estimate before a job runs, the usage after.

Estimate (IBM Quantum documentation, "Workload usage", section "Estimate usage before submitting
a job", https://quantum.cloud.ibm.com/docs/guides/estimate-job-run-time): a job takes about
``<per sub-job overhead> + (rep_delay + <circuit length>) * <num executions>``, with an
overhead of about 2 s per sub-job, ``rep_delay`` the backend's ``default_rep_delay`` (250 us
on most devices), the circuit length from the instruction durations of the device's target
(``QuantumCircuit.estimate_duration(target)``), plus the ``reset`` (init) duration when qubits
are initialised between shots (the primitives' default). jobman counts one sub-job per job.

Usage: what the service reports for a job, read from ``RuntimeJobV2.metrics()`` as the client's
own ``usage()`` reads it (``usage.qpu_charge_time_seconds``, falling back to the older
``usage.quantum_seconds``; ``usage.status`` is ``pending`` until the figure is final), with the
service's timestamps (``created``, ``running``, ``finished``).
"""

from __future__ import annotations

from typing import Any

from jobman.log import swallowed

#: Seconds of overhead per sub-job (loading the payload into the control electronics).
JOB_OVERHEAD_SECONDS = 2.0
#: ``rep_delay`` when a backend does not say (the documented value on most IBM devices).
DEFAULT_REP_DELAY = 250e-6


def rep_delay(device: Any) -> float:
    """The device's default delay between shots, in seconds."""
    try:
        value = getattr(device, "default_rep_delay", None)
        if value is None:
            value = getattr(device.configuration(), "default_rep_delay", None)
    except Exception as error:
        swallowed("reading the device's rep_delay (the default is used)", error)
        value = None
    return float(value) if value else DEFAULT_REP_DELAY


def init_seconds(target: Any) -> float:
    """Duration of the ``reset`` that initialises qubits before each shot (0 if unknown)."""
    try:
        properties = target["reset"]
        durations = [p.duration for p in properties.values() if p is not None and p.duration]
    except Exception as error:
        swallowed("reading the reset duration (taken as 0)", error)
        return 0.0
    return max(durations, default=0.0)


def seconds_per_shot(circuit: Any, target: Any, delay: float, init: float) -> float | None:
    """``rep_delay + circuit length + init`` for one shot of an ISA circuit; None when the
    target lacks a duration the circuit needs."""
    try:
        length = float(circuit.estimate_duration(target))
    except Exception as error:
        swallowed(f"estimating the duration of circuit {circuit.name!r} (unknown)", error)
        return None
    return length + delay + init


def reported_usage(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """The usage a job's metrics report, as jobman records it with the attempt."""
    usage = metrics.get("usage") or {}
    stamps = metrics.get("timestamps") or {}
    seconds = usage.get("qpu_charge_time_seconds")
    if seconds is None:
        seconds = usage.get("quantum_seconds")
    if seconds is None and not stamps:
        return None
    return {"quantum_seconds": None if seconds is None else float(seconds),
            "status": usage.get("status", "final" if seconds is not None else "pending"),
            "source": "service", "created": stamps.get("created"), "running": stamps.get("running"),
            "finished": stamps.get("finished")}
