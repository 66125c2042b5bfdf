"""Attempts over time from chunk records: start times, outcomes (retries) and rows."""

from __future__ import annotations

from jobman.records import Attempt, ChunkRecord
from jobman.timeline import CANCELLED, DONE, ERROR, RETRIED, UNFINISHED, attempt_spans, build_timeline

T = 1_800_000_000.0


def attempt(number, start, stop, submitted, finished, status, **extra):
    return Attempt.from_dict(dict({"number": number, "runs": [[start, stop]], "job_id": f"job-{number}",
                                   "submitted": submitted, "finished": finished, "status": status,
                                   "error": None}, **extra))


def chunks() -> list[ChunkRecord]:
    """Chunk 0 ran once; chunk 1 failed transiently, was retried, then DONE; chunk 2 was cancelled;
    chunk 3 was halved (parts 0-9 and 10-19 in flight at once), one part failed for good."""
    zero = ChunkRecord(0, 0, 10, "DONE", [attempt(1, 0, 10, T, T + 4, "DONE")],
                       history=[["QUEUED", T], ["RUNNING", T + 1], ["DONE", T + 4]])
    one = ChunkRecord(1, 10, 20, "DONE", [attempt(1, 10, 20, T + 1, T + 2, "ERROR"),
                                          attempt(2, 10, 20, T + 3, T + 6, "DONE")],
                      history=[["RUNNING", T + 1.5], ["RETRYING", T + 2], ["RUNNING", T + 5], ["DONE", T + 6]])
    two = ChunkRecord(2, 20, 30, "CANCELLED", [attempt(1, 20, 30, T + 2, T + 3, "CANCELLED")])
    three = ChunkRecord(3, 30, 50, "DONE", [attempt(1, 30, 50, T, T + 1, "ERROR"),
                                            attempt(2, 30, 40, T + 1, T + 3, "DONE"),
                                            attempt(3, 40, 50, T + 1, T + 2, "ERROR")])
    return [zero, one, two, three]


def test_spans_know_when_attempts_ran_and_how_they_ended():
    spans = {(s.chunk, s.number): s for s in attempt_spans(chunks())}
    assert (spans[0, 1].submitted, spans[0, 1].started, spans[0, 1].finished) == (T, T + 1, T + 4)
    assert spans[1, 2].started == T + 5  # the RUNNING inside its own window, not the first attempt's
    assert [spans[1, 1].outcome, spans[1, 2].outcome, spans[2, 1].outcome] == [RETRIED, DONE, CANCELLED]
    assert [spans[3, n].outcome for n in (1, 2, 3)] == [RETRIED, DONE, ERROR]  # halved, then one part failed
    assert spans[3, 3].circuits == "40-49" and spans[2, 1].started == T + 2  # nothing says: ran at once


def test_unfinished_attempts_end_now_or_at_the_last_known_moment():
    record = ChunkRecord(0, 0, 5, "RUNNING", [attempt(1, 0, 5, T, None, "RUNNING")],
                         history=[["QUEUED", T], ["RUNNING", T + 2]])
    assert attempt_spans([record])[0].finished == T + 2 and attempt_spans([record])[0].outcome == UNFINISHED
    assert attempt_spans([record], now=T + 9)[0].finished == T + 9
    refused = ChunkRecord(1, 5, 9, "ERROR", [attempt(1, 5, 9, None, T + 3, "ERROR", job_id=None)])
    span = attempt_spans([refused])[0]  # a submit call that failed: a moment, no job
    assert (span.submitted, span.finished, span.outcome) == (T + 3, T + 3, ERROR)


def test_ibm_running_timestamp_is_the_start():
    usage = {"running": "2027-01-15T08:00:02Z", "created": "2027-01-15T08:00:00Z"}
    at = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    record = ChunkRecord(0, 0, 5, "DONE", [attempt(1, 0, 5, at, at + 10, "DONE", usage=usage)])
    assert attempt_spans([record])[0].started == at + 2


def test_rows_per_chunk_slot_and_session():
    by_chunk = build_timeline(chunks())
    assert by_chunk.by == "chunk"
    assert [r.label for r in by_chunk.rows] == ["chunk 0 (0-9)", "chunk 1 (10-19)", "chunk 2 (20-29)",
                                                "chunk 3 (30-49)", "chunk 3 (30-49) +1"]
    assert (by_chunk.start, by_chunk.end) == (T, T + 6)
    assert by_chunk.totals() == {DONE: 3, RETRIED: 2, ERROR: 1, CANCELLED: 1}
    slots = build_timeline(chunks(), by="slot")
    assert all(a.finished <= b.submitted for row in slots.rows for a, b in zip(row.spans, row.spans[1:]))
    assert len(slots.rows) == 4 and slots.rows[0].label == "slot 1"  # 4 jobs at once at T + 1
    sessions = chunks()
    sessions[0].attempts[0].session_id = "s-1"
    assert build_timeline(sessions).by == "session"
    assert [r.label for r in build_timeline(sessions).rows][:2] == ["session s-1 1", "no session 1"]
