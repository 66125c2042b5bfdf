"""Failed circuit ranges as people read them: adjacent ranges merged, grouped by reason, capped.

Pure functions over the rows of :func:`jobman.summary.failures`; ``status``, ``run``, ``show``
and ``ManagedJobSet.report()`` print :func:`failure_lines`.
"""

from __future__ import annotations

from typing import Any, Iterable

from jobman.spec import format_range

#: Ranges listed in one line for a reason that failed many separate ranges.
RANGES_PER_LINE = 8
#: Failure lines shown before "... and N more".
DEFAULT_LIMIT = 10


def merge_failures(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose ranges touch and share status and reason, as one row (in circuit order).

    A merged row keeps ``chunk`` (its first), and adds ``last_chunk``, ``min_attempts`` and
    ``max_attempts`` so the span of chunks and attempts it covers can be told.
    """
    merged: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: r["start"]):
        last = merged[-1] if merged else None
        if last and last["stop"] == row["start"] and (last["status"], last["reason"]) == \
                (row["status"], row["reason"]):
            last["stop"] = row["stop"]
            last["circuits"] = format_range(last["start"], last["stop"])
            last["last_chunk"] = row["chunk"]
            last["min_attempts"] = min(last["min_attempts"], row["attempts"])
            last["max_attempts"] = max(last["max_attempts"], row["attempts"])
            continue
        merged.append(dict(row, last_chunk=row["chunk"], min_attempts=row["attempts"],
                           max_attempts=row["attempts"]))
    return merged


def group_failures(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One group per (status, reason), in order of its first circuit, with its merged ranges.

    Each group: ``status``, ``reason``, ``count`` (circuits), ``circuits`` (``"1,3,5-9"``),
    ``ranges`` (half-open ``[start, stop]`` pairs) and ``rows`` (the merged rows).
    """
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in merge_failures(rows):
        group = groups.setdefault((row["status"], row["reason"]), {
            "status": row["status"], "reason": row["reason"], "count": 0, "ranges": [], "rows": []})
        group["count"] += row["stop"] - row["start"]
        group["ranges"].append([row["start"], row["stop"]])
        group["rows"].append(row)
    for group in groups.values():
        group["circuits"] = ",".join(format_range(a, b) for a, b in group["ranges"])
    return list(groups.values())


def group_data(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`group_failures` as JSON-ready data (without the merged rows)."""
    return [{key: group[key] for key in ("status", "reason", "count", "circuits", "ranges")}
            for group in group_failures(rows)]


def describe_row(row: dict[str, Any]) -> str:
    """``circuits 3000-29999 were cancelled (chunks 3-29, 1 attempt): cancelled by request``."""
    start, stop = row["start"], row["stop"]
    one = stop == start + 1
    what = f"circuit {start}" if one else f"circuits {start}-{stop - 1}"
    return f"{what} {_verb(row['status'], one)} ({_where(row)}): {row['reason']}"


def describe_group(group: dict[str, Any]) -> str:
    """One line for a reason: its one range as :func:`describe_row`, or the first few ranges."""
    rows = group["rows"]
    if len(rows) == 1:
        return describe_row(rows[0])
    shown = _first_ranges(group["ranges"])
    listed = f"{shown},..." if shown.count(",") + 1 < len(rows) else shown
    span = dict(rows[0], last_chunk=rows[-1]["last_chunk"],
                min_attempts=min(r["min_attempts"] for r in rows),
                max_attempts=max(r["max_attempts"] for r in rows))
    return (f"circuits {listed} ({group['count']:,} circuits in {len(rows):,} ranges) "
            f"{_verb(group['status'], False)} ({_where(span)}): {group['reason']}")


def failure_lines(rows: list[dict[str, Any]], limit: int | None = DEFAULT_LIMIT,
                  more_hint: str = "jobman status --failures") -> list[str]:
    """A line per reason, at most ``limit`` lines, then ``... and N more (<more_hint>)``.

    A reason with many ranges lists only its first ones; then the hint is added as well, so the
    full list is always one command away.
    """
    groups = group_failures(rows)
    lines = [describe_group(group) for group in groups[:limit]]
    hidden = len(groups) - len(lines)
    if hidden > 0:
        lines.append(f"... and {hidden:,} more reason{'s' if hidden != 1 else ''} ({more_hint})")
    elif any(len(group["rows"]) > RANGES_PER_LINE for group in groups):
        lines.append(f"(every failed range: {more_hint})")
    return lines


def full_failure_lines(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every failed range (adjacent ones merged), one line each, in circuit order."""
    return [describe_row(row) for row in merge_failures(rows)]


def _first_ranges(ranges: list[list[int]], width: int = 32) -> str:
    """The first ranges, at most :data:`RANGES_PER_LINE` of them and about ``width`` characters."""
    shown: list[str] = []
    for start, stop in ranges[:RANGES_PER_LINE]:
        text = format_range(start, stop)
        if shown and len(",".join(shown + [text])) > width:
            break
        shown.append(text)
    return ",".join(shown)


def _verb(status: str, one: bool) -> str:
    if status == "ERROR":
        return "failed"
    return "was cancelled" if one else "were cancelled"


def _where(row: dict[str, Any]) -> str:
    """``chunk 7, 3 attempts``, ``chunks 3-29, not submitted`` or ``chunks 3-29`` (attempts vary)."""
    first, last = row["chunk"], row.get("last_chunk", row["chunk"])
    chunks = f"chunk {first}" if first == last else f"chunks {first}-{last}"
    low, high = row.get("min_attempts", row["attempts"]), row.get("max_attempts", row["attempts"])
    if low != high:
        return chunks
    tried = "not submitted" if not low else f"{low} attempt{'s' if low != 1 else ''}"
    return f"{chunks}, {tried}"
