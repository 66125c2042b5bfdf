"""The options an Aer job set is created with (``--backend-option``, ``--noise-model``): checked
before anything runs, and recorded as JSON so that resume and retry run with exactly them."""

from __future__ import annotations

import json
from typing import Any

from jobman.exceptions import UsageError

#: Options that jobman sets itself from the task: give them as --shots, --seed, --memory.
TASK_OPTIONS = {"shots": "--shots", "seed_simulator": "--seed", "memory": "--memory",
                "noise_model": "--noise-model"}


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` when every one can be recorded as JSON and is not a task option."""
    for key in options:
        if key in TASK_OPTIONS:
            raise UsageError(f"backend option {key!r} is set by jobman: use {TASK_OPTIONS[key]}")
    return check_recordable(options, "backend option")


def check_recordable(options: dict[str, Any], what: str) -> dict[str, Any]:
    """``options`` when each value survives JSON unchanged (so the set can record it)."""
    for key, value in options.items():
        try:
            same = json.loads(json.dumps(value, allow_nan=False)) == value
        except (TypeError, ValueError):
            same = False
        if not same:
            raise UsageError(f"{what} {key}={value!r} cannot be recorded in the job set "
                             "(give JSON values: numbers, strings, true/false, null, lists)")
    return dict(options)


def noise_record(noise_model: Any) -> tuple[dict[str, Any] | None, Any]:
    """The JSON record of a noise model and the model itself.

    ``noise_model`` is a fake device name (its ``NoiseModel.from_backend``), a qiskit-aer
    ``NoiseModel``, a record written by jobman (on resume), or None.
    """
    from jobman.backends import noise

    if noise_model is None:
        return None, None
    if isinstance(noise_model, str):
        model = noise.from_device(noise_model)
        return noise.record(model, source=noise_model), model
    if isinstance(noise_model, dict):
        return noise_model, noise.restore(noise_model)
    return noise.record(noise_model), noise_model


def trial_run(options: dict[str, Any], checked: bool) -> Any:
    """An ``AerSimulator`` with ``options``; with ``checked``, one that has run a one-shot
    circuit, so that an option Aer rejects only when it runs is a usage error now."""
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    try:
        simulator = AerSimulator(**options)
    except Exception as error:
        raise UsageError(f"Aer refuses the backend options: {_text(error)}") from None
    if not checked:
        return simulator
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    try:
        result = simulator.run(circuit, shots=1).result()
        status = None if result.results[0].success else result.results[0].status
    except Exception as error:
        status = _text(error)
    if status is not None:
        raise UsageError(f"Aer cannot run with the backend options: {status}")
    return simulator


def _text(error: BaseException) -> str:
    return " ".join(str(error).strip("'\" ").split()) or type(error).__name__
