"""The ledger: result lines merged into what is stored, records kept in step, nothing left
PENDING when a chunk closes (a real store on disk)."""

from __future__ import annotations

from jobman.backends.base import CircuitOutcome
from jobman.ledger import (NO_RESULT, Ledger, chunk_status, failed_line, failed_lines, outcome_line,
                           owed)
from jobman.records import new_attempt
from jobman.status import JobStatus
from jobman.store import Store
from test_store import make_set

SET = "20260101-000000-aaaaaa"


def _ledger(tmp_path, changes=None):
    set_store = make_set(Store(tmp_path), SET, total=10, chunk_size=4)
    return set_store, Ledger(set_store, clock=lambda: 7.0, on_change=changes.append if changes is not None else None)


def test_a_chunk_without_lines_reads_as_pending_circuits(tmp_path):
    set_store, ledger = _ledger(tmp_path)
    lines = ledger.lines(set_store.chunk(1))
    assert [(line["index"], line["status"]) for line in lines] == [(i, "PENDING") for i in range(4, 8)]


def test_merge_replaces_only_the_given_circuits_and_keeps_names(tmp_path):
    set_store, ledger = _ledger(tmp_path)
    record = set_store.chunk(0)
    done = CircuitOutcome(JobStatus.DONE, 2, {"0x1": 5}, creg_sizes=[["c", 2]])
    ledger.merge(record, {0: outcome_line(0, "bell", done), 1: failed_line(1, "x", "ERROR", "bad")})
    ledger.merge(record, {1: outcome_line(1, None, done)})  # a retry: its name is kept
    lines = set_store.read_results(0)
    assert [(line["name"], line["status"]) for line in lines[:2]] == [("bell", "DONE"), ("x", "DONE")]
    assert lines[0]["counts"] == {"0x1": 5} and lines[0]["creg_sizes"] == [["c", 2]]
    assert [line["status"] for line in lines[2:]] == ["PENDING", "PENDING"]


def test_close_leaves_nothing_pending_and_records_the_failed_ranges(tmp_path):
    changes = []
    set_store, ledger = _ledger(tmp_path, changes)
    record = set_store.chunk(0)
    done = CircuitOutcome(JobStatus.DONE, 1, {"0x0": 3})
    ledger.merge(record, {0: outcome_line(0, "a", done), 3: outcome_line(3, "d", done)})
    ledger.close(record)
    reopened = Store(tmp_path).open_set(SET).chunk(0)
    assert reopened.status == "DONE" and reopened.updated == 7.0
    assert reopened.failed == [[1, 3, "ERROR", NO_RESULT]]
    assert [line["status"] for line in set_store.read_results(0)] == ["DONE", "ERROR", "ERROR", "DONE"]
    assert [c.status for c in changes] == ["DONE"]


def test_chunk_status_done_if_any_circuit_is_else_cancelled_or_error():
    def lines(*statuses):
        return [failed_line(i, None, s, None) for i, s in enumerate(statuses)]

    assert chunk_status(lines("ERROR", "DONE")) is JobStatus.DONE
    assert chunk_status(lines("CANCELLED", "CANCELLED")) is JobStatus.CANCELLED
    assert chunk_status(lines("CANCELLED", "ERROR")) is JobStatus.ERROR


def test_owed_is_pending_circuits_and_the_last_attempts_unfinished_ones(tmp_path):
    set_store, ledger = _ledger(tmp_path)
    record = set_store.chunk(1)  # circuits 4-7
    done = CircuitOutcome(JobStatus.DONE, 1, {"0x0": 1})
    lines = ledger.merge(record, {4: outcome_line(4, None, done), 5: failed_line(5, None, "ERROR", "x"),
                                  6: outcome_line(6, None, done)})
    assert owed(record, lines) == [7]
    record.attempts.append(new_attempt(2, [(5, 6)]))  # a retry of circuit 5
    assert owed(record, lines) == [5, 7]


def test_failed_lines_give_every_circuit_the_same_reason():
    lines = failed_lines([2, 3], {2: "two"}, "CANCELLED", "cancelled by request")
    assert lines[2]["name"] == "two" and lines[3]["name"] is None
    assert {line["error"] for line in lines.values()} == {"cancelled by request"}
