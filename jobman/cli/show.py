"""``jobman show``: everything about one job set's task, plan and timing."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobman.cli.app import JsonOption, SetArgument, StoreOption, app, open_store, terminal
from jobman.cli.formatting import byte_size, duration, plural, timestamp, totals

if TYPE_CHECKING:  # pragma: no cover
    from jobman.summary import SetSummary


@app.command("show")
def show_command(set_id: SetArgument = None, json_out: JsonOption = False,
                 store: StoreOption = None) -> int:
    """Show a job set's task, inputs, plan, timing and failures.

    Inputs with their sha256, backend, options, chunk plan, created/started/finished/elapsed.

    Example: jobman show 20261121-0945 --json
    """
    from jobman.summary import summarize

    set_store = open_store(store).open_set(set_id)
    details = describe(set_store.record, summarize(set_store))
    if json_out:
        terminal.json(details)
    else:
        terminal.data(render(details))
    return 0


def describe(record: Any, summary: "SetSummary") -> dict[str, Any]:
    """The set's task, plan, timing and state as JSON-ready data."""
    options = dict(record.options)
    engine = options.pop("engine", {})
    started, finished = summary.started, summary.finished
    end = finished if finished is not None else (time.time() if summary.running else summary.updated)
    return {
        "id": summary.id, "name": record.name, "status": summary.status.value, "running": summary.running,
        "tags": dict(record.tags), "inputs": record.inputs, "backend": record.backend, "options": options, "engine": engine,
        "plan": {"total": record.total, "chunk_size": record.chunk_size, "num_chunks": record.num_chunks,
                 "unit": record.unit, "estimator": record.is_estimator_task},
        "timing": {"created": record.created, "started": started, "finished": finished,
                   "elapsed": round(end - started, 3) if started is not None else None},
        "circuits": summary.circuits, "chunks": summary.chunks, "failures": summary.failures,
        "usage": summary.usage, "sweep": record.sweep,
    }


def render(details: dict[str, Any]) -> str:
    """``show``'s human-readable text: one fact per line, labels aligned."""
    from jobman.failure_report import failure_lines

    timing, plan = details["timing"], details["plan"]
    unit = plan.get("unit", "circuit")
    rows = [
        ("id", details["id"]), ("name", details["name"]),
        *([("tags", " ".join(f"{k}={v}" for k, v in details["tags"].items()))] if details["tags"] else []),
        ("status", details["status"] + ("  (running)" if details["running"] else "")),
        ("backend", _pairs(details["backend"], first="name")),
        ("options", _pairs(_options(details["options"], plan.get("estimator", False)))),
        ("engine", _pairs(_engine(details["engine"], details["backend"]))),
    ]
    rows += [("input" if i == 0 else "", _input(item)) for i, item in enumerate(details["inputs"])]
    rows += [("sweep" if i == 0 else "", line) for i, line in enumerate(_sweep(details.get("sweep")))]
    rows += [
        ("plan", f"{plural(plan['total'], unit)} in {plural(plan['num_chunks'], 'chunk')} "
                 f"of up to {plan['chunk_size']}"),
        ("created", timestamp(timing["created"])), ("started", timestamp(timing["started"])),
        ("finished", timestamp(timing["finished"])), ("elapsed", duration(timing["elapsed"])),
        (f"{unit}s", totals(details["circuits"])), ("chunks", totals(details["chunks"])),
    ]
    from jobman.cli.status import usage_lines

    rows += [("usage", line[len("usage: "):]) for line in usage_lines(details["usage"])]
    failures = failure_lines(details["failures"], more_hint=f"jobman status {details['id']} --failures") \
        or ["none"]
    rows += [("failures" if i == 0 else "", line) for i, line in enumerate(failures)]
    return "\n".join(f"{label:<9} {value}".rstrip() for label, value in rows)


#: What a set recorded without max_in_flight ran with (sets made before it was recorded).
_DEFAULT_IN_FLIGHT = {"aer": 2}
_DEFAULT_IN_FLIGHT_IBM = 3


#: Run options an estimator task does not use: its PUBs' precisions say how it samples.
_SAMPLER_ONLY = ("extra", "shots", "memory")


def _options(options: dict[str, Any], estimates: bool = False) -> dict[str, Any]:
    """The run options with the backend's extra options inline, none when there are none; an
    estimator task's without the sampler's shots and memory."""
    shown = {key: value for key, value in options.items()
             if key not in (_SAMPLER_ONLY if estimates else ("extra",))}
    shown.update(options.get("extra") or {})
    return shown


def _engine(engine: dict[str, Any], backend: dict[str, Any]) -> dict[str, Any]:
    """The engine options with effective values in place of "the backend's default"."""
    shown = dict(engine)
    if shown.get("max_in_flight") is None and "max_in_flight" in shown:
        if backend.get("executor"):  # follows the executor's size while the set runs
            shown["max_in_flight"] = "executor slots + 1"
        else:
            shown["max_in_flight"] = _DEFAULT_IN_FLIGHT.get(backend.get("name") or "", _DEFAULT_IN_FLIGHT_IBM)
    return shown


def _pairs(values: dict[str, Any], first: str | None = None) -> str:
    """``aer (num_qubits 30, seed -)`` from a dict; ``-`` for None, nested dicts inline."""
    def show(value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k} {show(v)}" for k, v in value.items()) + "}" if value else "{}"
        return "-" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    rest = ", ".join(f"{key} {show(value)}" for key, value in values.items() if key != first)
    if first is None:
        return rest or "-"
    return f"{values.get(first)}" + (f" ({rest})" if rest else "")


def _input(item: dict[str, Any]) -> str:
    """``/data/c.qpy  qpy  2000 circuits  1.0 MiB  sha256 ab89...``."""
    return (f"{item.get('path')}  {item.get('format', '?')}  {item.get('count', '?')} circuits  "
            f"{byte_size(item.get('size'))}  sha256 {item.get('sha256', '-')}")


def _sweep(sweep: dict[str, Any] | None) -> list[str]:
    """``PUB 0: circuit 0, shape (3, 4) x 2 parameters, points 0-11`` per PUB, then the values file."""
    if not sweep:
        return []
    lines = []
    for number, pub in enumerate(sweep.get("pubs") or []):
        size = 1
        for n in pub["shape"]:
            size *= n
        observed = "" if pub.get("observables") is None else (
            f", observables {_shape(pub['observables'])}, precision {pub.get('precision')}")
        lines.append(f"PUB {number}: circuit {pub['circuit']}, shape {_shape(pub['shape'])} x {pub['parameters']} "
                     f"parameters, points {pub['start']}-{pub['start'] + size - 1}{observed}")
    for key in ("values", "observables"):
        item = sweep.get(key)
        if item is not None:
            lines.append(f"{key} {item.get('path')}  {byte_size(item.get('size'))}  sha256 {item.get('sha256', '-')}")
    return lines


def _shape(shape: list[int]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
