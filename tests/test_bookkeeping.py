"""The chunk book-keeping on a real store, with no backend and no circuits: closing chunks from
their lines, split parts, --on-failure abort, usage counting, sessions and leaving a set
resumable after Ctrl-C."""

from __future__ import annotations

from jobman.bookkeeping import Bookkeeping, WorkItem
from jobman.ledger import failed_line
from jobman.records import Attempt, new_attempt
from jobman.status import JobStatus
from jobman.store import Store
from test_store import make_set

SET = "20260101-000000-aaaaaa"


def _books(tmp_path, on_failure: str = "continue", changes: list | None = None) -> Bookkeeping:
    make_set(Store(tmp_path), SET, total=8, chunk_size=4)  # chunks 0-3 and 4-7
    on_change = None if changes is None else (lambda record: changes.append((record.index, record.status)))
    return Bookkeeping(Store(tmp_path).open_set(SET), clock=lambda: 7.0, on_change=on_change,
                       on_failure=on_failure)


def _done(index: int) -> dict:
    return dict(failed_line(index, f"c{index}", "DONE", None), num_clbits=1, counts={"0x0": 10})


def _stored(tmp_path, chunk: int):
    return Store(tmp_path).open_set(SET).chunk(chunk)


def test_merged_lines_close_the_chunk_on_disk_with_its_failed_ranges(tmp_path):
    changes: list = []
    books = _books(tmp_path, changes=changes)
    lines = {i: _done(i) for i in (0, 1, 2)}
    lines[3] = failed_line(3, "c3", "ERROR", "boom")
    books.merge(books.records[0], lines)
    record = _stored(tmp_path, 0)
    assert record.status == "DONE" and record.failed == [[3, 4, "ERROR", "boom"]] and record.error == "boom"
    assert changes == [(0, "DONE")] and not books.aborting
    assert [line["status"] for line in books.ledger.lines(record)] == ["DONE"] * 3 + ["ERROR"]


def test_a_chunk_split_in_two_stays_open_until_both_halves_end(tmp_path):
    books = _books(tmp_path)
    halves = books.split(WorkItem(1, [(4, 8)], failures=1))
    assert [(h.chunk, h.runs, h.failures) for h in halves] == [(1, [(4, 6)], 1), (1, [(6, 8)], 1)]
    assert _stored(tmp_path, 1).status == "RETRYING"
    books.merge(books.records[1], {4: _done(4), 5: _done(5)})
    assert _stored(tmp_path, 1).status == "RETRYING"  # the other half is still to end
    books.merge(books.records[1], {6: _done(6), 7: _done(7)})
    assert _stored(tmp_path, 1).status == "DONE"


def test_under_abort_a_failed_circuit_stops_submitting_and_rejects_leave_the_chunk_open(tmp_path):
    books = _books(tmp_path, on_failure="abort")
    books.reject(books.records[0], {2: failed_line(2, None, "ERROR", "no measurements")})
    assert books.aborting and _stored(tmp_path, 0).status == "PENDING"
    assert books.ledger.lines(books.records[0])[2]["error"] == "no measurements"
    cancelled = _books(tmp_path / "other", on_failure="abort")
    cancelled.fail(WorkItem(1, [(4, 8)]), {}, "cancelled by request", "CANCELLED")
    assert not cancelled.aborting  # only an ERROR aborts


def test_usage_counts_jobs_with_an_id_and_the_rate_follows_what_the_backend_reports(tmp_path):
    books = _books(tmp_path)
    record = books.records[0]
    counted = Attempt(1, [[0, 2]], job_id="job-1", estimate_seconds=4.0)
    refused = Attempt(2, [[2, 4]], estimate_seconds=100.0)  # no job: never counted
    record.attempts += [counted, refused]
    assert books.usage_counted() == 4.0 and books.measured_rate() is None
    books.record_usage(counted, {"seconds": 3.0})
    assert books.usage_counted() == 3.0 and books.measured_rate() == 1.5  # 3 s for 2 circuits
    books.record_usage(counted, None)  # nothing reported: nothing changes
    assert counted.usage == {"seconds": 3.0}


def test_sessions_are_saved_only_when_they_change(tmp_path):
    books = _books(tmp_path)
    books.save_sessions([{"id": "s-1", "mode": "batch"}])
    assert Store(tmp_path).open_set(SET).record.sessions == [{"id": "s-1", "mode": "batch"}]
    other = Store(tmp_path).open_set(SET)
    other.record.name = "renamed"
    other.save_record()
    books.save_sessions([{"id": "s-1", "mode": "batch"}])  # the same: nothing is written
    assert Store(tmp_path).open_set(SET).record.name == "renamed"


def test_after_ctrl_c_no_chunk_looks_live_and_its_open_attempt_is_marked(tmp_path):
    books = _books(tmp_path)
    record = books.records[0]
    record.attempts.append(new_attempt(1, [(0, 4)]))
    books.ledger.set_status(record, JobStatus.SUBMITTING)
    books.leave_resumable()
    stored = _stored(tmp_path, 0)
    assert stored.status == "PENDING" and _stored(tmp_path, 1).status == "PENDING"
    assert (stored.attempts[0].status, stored.attempts[0].error,
            stored.attempts[0].finished) == ("CANCELLED", "interrupted", 7.0)


def test_a_cancel_request_is_seen_and_cleared(tmp_path):
    books = _books(tmp_path)
    assert not books.cancel_requested()
    books.set.paths.cancel_file.write_text("cancel\n")
    assert books.cancel_requested()
    books.clear_cancel_request()
    assert not books.cancel_requested()
