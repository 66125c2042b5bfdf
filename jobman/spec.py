"""Circuit specs as users type them: ``42``, ``100-199``, ``1,5,9-12`` or a circuit name."""

from __future__ import annotations

import re
from typing import Callable

from jobman.exceptions import CircuitIndexError, UsageError

_NUMERIC = re.compile(r"^[\d\s,\-]+$")
_PART = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d+)?\s*)?$")
#: ``name:42`` names the circuit called "42" (a bare 42 is an index).
NAME_PREFIX = "name:"


def parse_spec(spec: str, total: int, find_name: Callable[[str], int | None]) -> list[int]:
    """Global circuit indices named by ``spec``, in the order given.

    ``spec`` is a comma list of indices (``42``), inclusive ranges (``100-199``), open-ended
    ranges (``10-``: 10 to the last) and circuit names (``ghz-3``, or ``name:42`` for a circuit
    named like a number). A name that itself contains a comma is found when the whole spec is
    that name.
    """
    text = spec.strip()
    if not text:
        raise UsageError("empty circuit spec; give an index (42), a range (100-199), a list or a name")
    if text.startswith(NAME_PREFIX):
        whole = find_name(text[len(NAME_PREFIX):])
        if whole is not None:
            return [whole]
    if "," in text and not _NUMERIC.match(text):
        whole = find_name(text)
        if whole is not None:
            return [whole]
    indices: list[int] = []
    for part in text.split(","):
        indices.extend(_parse_part(part.strip(), spec, total, find_name))
    return indices


def _parse_part(part: str, spec: str, total: int, find_name: Callable[[str], int | None]) -> list[int]:
    if not part:
        raise UsageError(f"invalid circuit spec {spec!r}: empty item in the list")
    if part.startswith(NAME_PREFIX) or not _NUMERIC.match(part):
        part = part[len(NAME_PREFIX):] if part.startswith(NAME_PREFIX) else part
        index = find_name(part)
        if index is None:
            raise CircuitIndexError(f"no circuit named {part!r} in this job set")
        return [index]
    match = _PART.match(part)
    if not match:
        raise UsageError(f"invalid circuit spec {part!r}: use an index (42), a range (100-199), "
                         "a comma list or a circuit name")
    first = int(match.group(1))
    last = int(match.group(3)) if match.group(3) is not None else total - 1 if match.group(2) else first
    if first >= total:
        raise CircuitIndexError(f"circuit index {first} is out of range: this job set has circuits "
                                f"0-{total - 1}")
    if last < first:
        raise UsageError(f"invalid circuit range {part!r}: the end is before the start")
    if last >= total:
        raise CircuitIndexError(f"circuit index {last} is out of range: this job set has circuits "
                                f"0-{total - 1}")
    return list(range(first, last + 1))


def format_ranges(indices: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``"1-3,7"``."""
    return ",".join(format_range(start, stop) for start, stop in to_ranges(indices))


def format_range(start: int, stop: int) -> str:
    """Half-open ``[start, stop)`` as users write it: ``100-199``, or ``7`` for one circuit."""
    return str(start) if stop == start + 1 else f"{start}-{stop - 1}"


def to_ranges(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted unique indices as half-open ``(start, stop)`` runs."""
    runs: list[tuple[int, int]] = []
    for index in sorted(set(indices)):
        if runs and runs[-1][1] == index:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return runs


def unique_names(find_names: Callable[[str], list[int]]) -> Callable[[str], int | None]:
    """A ``find_name`` for :func:`parse_spec` that refuses a name several circuits share."""
    def find(name: str) -> int | None:
        found = find_names(name)
        if len(found) > 1:
            shown = ", ".join(str(i) for i in found[:10]) + (", ..." if len(found) > 10 else "")
            raise CircuitIndexError(f"circuit name {name!r} is ambiguous: {len(found)} circuits have it "
                                    f"({shown}); give an index")
        return found[0] if found else None
    return find
