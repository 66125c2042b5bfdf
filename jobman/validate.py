"""Shape checks of what the store reads back: a damaged file is named, never half-used.

Each check raises :class:`ShapeError` with the fault in words (``chunk_size must be a positive
integer, not 0``); the store adds the file and turns it into a
:class:`~jobman.exceptions.DamagedSetError`. Pure functions over decoded JSON.
"""

from __future__ import annotations

from typing import Any

from jobman.status import JobStatus

STATUSES = frozenset(status.value for status in JobStatus)
FAILED_STATUSES = frozenset((JobStatus.ERROR.value, JobStatus.CANCELLED.value))
LINE_STATUSES = FAILED_STATUSES | {JobStatus.DONE.value, JobStatus.PENDING.value}


class ShapeError(ValueError):
    """Decoded JSON that is not what the store wrote."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _need(data: dict[str, Any], key: str, test: Any, what: str, optional: bool = False) -> None:
    if key not in data:
        if optional:
            return
        raise ShapeError(f"field {key!r} is missing")
    if not test(data[key]):
        raise ShapeError(f"field {key!r} must be {what}, not {data[key]!r:.60}")


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ShapeError(f"{what} must be a JSON object, not {type(data).__name__}")
    return data


def check_set_data(data: Any) -> dict[str, Any]:
    """A set.json as :class:`~jobman.records.SetRecord` writes it; its chunk plan adds up."""
    data = _object(data, "set.json")
    _need(data, "id", lambda v: isinstance(v, str), "a string")
    _need(data, "name", lambda v: isinstance(v, str), "a string")
    _need(data, "created", _is_number, "a number")
    _need(data, "inputs", lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
          "a list of objects")
    _need(data, "backend", lambda v: isinstance(v, dict), "an object")
    _need(data, "options", lambda v: isinstance(v, dict), "an object")
    _need(data, "total", lambda v: _is_int(v) and v >= 0, "a non-negative integer")
    _need(data, "chunk_size", lambda v: _is_int(v) and v > 0, "a positive integer")
    _need(data, "num_chunks", lambda v: _is_int(v) and v >= 0, "a non-negative integer")
    _need(data, "cancel_requested", lambda v: isinstance(v, bool), "true or false", optional=True)
    _need(data, "sessions", lambda v: isinstance(v, list) and all(isinstance(s, dict) for s in v),
          "a list of objects", optional=True)
    _need(data["options"], "shots", lambda v: _is_int(v) and v > 0, "a positive integer",
          optional=True)
    expected = -(-data["total"] // data["chunk_size"])
    if data["num_chunks"] != expected:
        raise ShapeError(f"num_chunks is {data['num_chunks']}, but {data['total']} circuits in chunks "
                         f"of {data['chunk_size']} make {expected}")
    return data


def check_chunk_data(data: Any, index: int, start: int, stop: int) -> dict[str, Any]:
    """A chunk file as :class:`~jobman.records.ChunkRecord` writes it, for chunk ``index``."""
    data = _object(data, "a chunk record")
    for key, value in (("index", index), ("start", start), ("stop", stop)):
        _need(data, key, _is_int, "an integer")
        if data[key] != value:
            raise ShapeError(f"field {key!r} is {data[key]}; the set's plan says {value}")
    _need(data, "status", lambda v: v in STATUSES, f"one of {', '.join(sorted(STATUSES))}")
    _need(data, "attempts", lambda v: isinstance(v, list) and all(_is_attempt(a) for a in v),
          "a list of attempts (objects with a number and circuit runs)", optional=True)
    _need(data, "history", lambda v: isinstance(v, list), "a list", optional=True)
    _need(data, "error", lambda v: v is None or isinstance(v, str), "a string or null", optional=True)
    _need(data, "failed", lambda v: isinstance(v, list) and all(_is_failed(r, start, stop) for r in v),
          f"a list of [start, stop, ERROR|CANCELLED, reason] within {start}-{stop}", optional=True)
    _need(data, "updated", _is_number, "a number", optional=True)
    return data


def _is_run(run: Any) -> bool:
    return isinstance(run, list) and len(run) == 2 and all(map(_is_int, run)) and run[0] <= run[1]


def _is_attempt(attempt: Any) -> bool:
    return (isinstance(attempt, dict) and _is_int(attempt.get("number"))
            and isinstance(attempt.get("runs"), list) and all(map(_is_run, attempt["runs"]))
            and isinstance(attempt.get("status", ""), str))


def _is_failed(row: Any, start: int, stop: int) -> bool:
    return (isinstance(row, list) and len(row) == 4 and _is_int(row[0]) and _is_int(row[1])
            and start <= row[0] < row[1] <= stop and row[2] in FAILED_STATUSES
            and (row[3] is None or isinstance(row[3], str)))


def check_line(data: Any, index: int) -> dict[str, Any]:
    """One circuit's result line (see :mod:`jobman.ledger`), for circuit ``index``."""
    data = _object(data, "a result line")
    _need(data, "index", _is_int, "an integer")
    if data["index"] != index:
        raise ShapeError(f"the line of circuit {index} says index {data['index']}")
    _need(data, "status", lambda v: v in LINE_STATUSES, f"one of {', '.join(sorted(LINE_STATUSES))}")
    _need(data, "name", lambda v: v is None or isinstance(v, str), "a string or null", optional=True)
    _need(data, "num_clbits", lambda v: _is_int(v) and v >= 0, "a non-negative integer", optional=True)
    _need(data, "counts", _is_counts, "null or an object of outcomes and counts", optional=True)
    _need(data, "error", lambda v: v is None or isinstance(v, str), "a string or null", optional=True)
    _need(data, "evs", _is_numbers_or_nulls, "a list of numbers (or nulls)", optional=True)
    _need(data, "stds", _is_numbers_or_nulls, "a list of numbers (or nulls)", optional=True)
    if len(data.get("evs") or ()) != len(data.get("stds") or ()):
        raise ShapeError(f"circuit {index} has {len(data.get('evs') or ())} evs but "
                         f"{len(data.get('stds') or ())} stds")
    if data["status"] == JobStatus.DONE.value and data.get("counts") is None:
        raise ShapeError(f"circuit {index} is DONE but has no counts")
    return data


def _is_numbers_or_nulls(values: Any) -> bool:
    """A point's evs or stds: null where its PUB's result takes no value of that observable."""
    return isinstance(values, list) and all(v is None or _is_number(v) for v in values)


def _is_counts(counts: Any) -> bool:
    if counts is None:
        return True
    if not isinstance(counts, dict):
        return False
    return all(isinstance(key, str) and _is_int(value) and value >= 0 for key, value in counts.items())
