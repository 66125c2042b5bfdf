"""Failure lists that scale: merged ranges, a line per reason, a cap with the way to the rest."""

from __future__ import annotations

from jobman.failure_report import (describe_row, failure_lines, full_failure_lines, group_data,
                                   merge_failures)


def row(start: int, stop: int, chunk: int, reason: str = "cancelled by request", status: str = "CANCELLED",
        attempts: int = 1) -> dict:
    return {"start": start, "stop": stop, "circuits": f"{start}-{stop - 1}", "chunk": chunk,
            "status": status, "attempts": attempts, "reason": reason}


def test_adjacent_ranges_of_one_reason_merge_across_chunks():
    rows = [row(3000 + 1000 * i, 4000 + 1000 * i, 3 + i) for i in range(27)]
    assert failure_lines(rows) == [
        "circuits 3000-29999 were cancelled (chunks 3-29, 1 attempt): cancelled by request"]


def test_attempts_that_differ_are_not_claimed():
    rows = [row(0, 10, 0, attempts=1), row(10, 20, 1, attempts=0)]
    assert describe_row(merge_failures(rows)[0]) == \
        "circuits 0-19 were cancelled (chunks 0-1): cancelled by request"


def test_ranges_with_other_reasons_or_gaps_stay_apart():
    rows = [row(0, 5, 0, "a", "ERROR"), row(5, 10, 0, "b", "ERROR"), row(11, 12, 1, "a", "ERROR")]
    assert [(r["start"], r["stop"], r["reason"]) for r in merge_failures(rows)] == [
        (0, 5, "a"), (5, 10, "b"), (11, 12, "a")]


def test_alternating_failures_are_one_line_with_the_way_to_all():
    rows = [row(i, i + 1, i // 1000, "boom", "ERROR") for i in range(1, 2000, 2)]
    lines = failure_lines(rows, more_hint="jobman status S --failures")
    assert lines == ["circuits 1,3,5,7,9,11,13,15,... (1,000 circuits in 1,000 ranges) failed "
                     "(chunks 0-1, 1 attempt): boom",
                     "(every failed range: jobman status S --failures)"]
    assert len(full_failure_lines(rows)) == 1000


def test_many_reasons_are_capped():
    rows = [row(i, i + 1, 0, f"reason {i}", "ERROR") for i in range(25)]
    lines = failure_lines(rows, limit=10, more_hint="jobman status S --failures")
    assert len(lines) == 11 and lines[-1] == "... and 15 more reasons (jobman status S --failures)"
    assert lines[0] == "circuit 0 failed (chunk 0, 1 attempt): reason 0"


def test_group_data_is_json_ready():
    rows = [row(1, 2, 0, "boom", "ERROR"), row(3, 5, 0, "boom", "ERROR"), row(5, 6, 1, "x")]
    assert group_data(rows) == [
        {"status": "ERROR", "reason": "boom", "count": 3, "circuits": "1,3-4", "ranges": [[1, 2], [3, 5]]},
        {"status": "CANCELLED", "reason": "x", "count": 1, "circuits": "5", "ranges": [[5, 6]]}]
