"""Set and chunk records: JSON-ready dicts and back, unknown keys of newer writers ignored."""

from __future__ import annotations

import json

from jobman.records import (ATTEMPT_FINAL, ATTEMPT_LOST, FORMAT_VERSION, Attempt, EngineOptions, ChunkRecord, SetRecord,
                            attempt_indices, compress_ranges, new_attempt)
from jobman.status import JobStatus


def test_a_set_record_round_trips_through_json_and_ignores_unknown_keys():
    record = SetRecord(id="s", name="n", created=1.5, inputs=[{"path": "a.qpy"}], backend={"name": "aer"},
                       options={"shots": 10}, total=5, chunk_size=2, num_chunks=3)
    data = json.loads(json.dumps(record.to_dict()))
    assert data["format_version"] == FORMAT_VERSION
    assert SetRecord.from_dict(dict(data, added_later=1)) == record


def test_a_chunk_record_keeps_its_history_attempts_and_failures():
    record = ChunkRecord(index=1, start=4, stop=8)
    record.set_status(JobStatus.QUEUED, now=2.0)
    record.set_status(JobStatus.DONE, now=3.0)
    record.attempts.append(new_attempt(1, [(4, 6), (7, 8)]))
    record.failed = compress_ranges([(4, "ERROR", "x"), (5, "ERROR", "x"), (7, "CANCELLED", "c")])
    back = ChunkRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert back == record and back.size == 4 and back.job_status is JobStatus.DONE
    assert back.history == [["QUEUED", 2.0], ["DONE", 3.0]] and back.updated == 3.0
    assert back.failed == [[4, 6, "ERROR", "x"], [7, 8, "CANCELLED", "c"]] and back.failed_count() == 3
    assert attempt_indices(back.last_attempt()) == [4, 5, 7]
    assert [back.attempts_covering(i) for i in (4, 6, 7)] == [1, 0, 1]


def test_an_attempt_written_by_an_older_jobman_reads_with_defaults_and_writes_the_same_keys():
    old = {"number": 2, "runs": [[0, 3]], "job_id": "j-2", "submitted": 1.0, "finished": 2.5,
           "status": "DONE", "error": None}  # before estimates, sessions and usage were recorded
    attempt = Attempt.from_dict(old)
    assert (attempt.number, attempt.runs, attempt.job_id, attempt.status) == (2, [[0, 3]], "j-2", "DONE")
    assert (attempt.estimate_seconds, attempt.session_id, attempt.usage, attempt.adopted) == (None, None, None, False)
    assert attempt.to_dict() == old and list(attempt.to_dict()) == list(old)  # no key added
    assert attempt.is_final and attempt.indices() == [0, 1, 2] and attempt.covers(2) and not attempt.covers(3)
    bare = Attempt.from_dict({"number": 1, "runs": [[4, 5]]})  # the least a valid record holds
    assert bare.status == "SUBMITTING" and not bare.is_final


def test_an_attempt_keeps_the_keys_a_newer_jobman_wrote_through_a_round_trip():
    newer = {"number": 1, "runs": [[0, 2]], "job_id": "j-1", "submitted": 1.0, "finished": None,
             "status": "RUNNING", "error": None, "estimate_seconds": 4.5, "session_id": "s-1",
             "usage": {"quantum_seconds": 2.0, "status": "final"}, "adopted": True,
             "priority": 7, "extra": {"nested": [1]}}  # "extra" is a newer writer's key like any other
    attempt = Attempt.from_dict(newer)
    assert attempt.extra == {"priority": 7, "extra": {"nested": [1]}} and attempt.session_id == "s-1"
    assert attempt.to_dict() == newer
    record = ChunkRecord(index=0, start=0, stop=2, status="RUNNING", attempts=[attempt])
    stored = json.loads(json.dumps(record.to_dict()))
    assert stored["attempts"] == [newer] and ChunkRecord.from_dict(stored) == record
    attempt.update({"session_id": "s-2", "region": "eu"})  # a backend's facts: known ones typed
    assert attempt.session_id == "s-2" and attempt.extra["region"] == "eu"


def test_compress_ranges_splits_on_a_gap_a_status_or_a_reason():
    triples = [(0, "ERROR", "a"), (1, "ERROR", "a"), (3, "ERROR", "a"), (4, "ERROR", "b"),
               (5, "CANCELLED", "b")]
    assert compress_ranges(triples) == [[0, 2, "ERROR", "a"], [3, 4, "ERROR", "a"],
                                        [4, 5, "ERROR", "b"], [5, 6, "CANCELLED", "b"]]


def test_tags_parse_from_key_value_pairs_and_match_by_key_or_value():
    import pytest

    from jobman.exceptions import UsageError
    from jobman.records import parse_tags, tags_match

    tags = parse_tags(["project=qv", "note=a=b", "empty="])
    assert tags == {"project": "qv", "note": "a=b", "empty": ""}
    assert tags_match(tags, {"project": "qv", "note": None}) and not tags_match(tags, {"project": "t1"})
    assert not tags_match({}, {"project": None})
    for bad in (["x"], ["=1"], ["a=1", "a=2"]):
        with pytest.raises(UsageError):
            parse_tags(bad)
    old = SetRecord.from_dict({k: v for k, v in SetRecord(
        id="s", name="n", created=1.0, inputs=[], backend={}, options={}, total=0, chunk_size=1,
        num_chunks=0).to_dict().items() if k != "tags"})  # written before tags existed
    assert old.tags == {}


def test_a_lost_attempt_is_final_and_is_no_chunk_status():
    assert ATTEMPT_LOST == "LOST" and ATTEMPT_LOST in ATTEMPT_FINAL
    assert ATTEMPT_LOST not in {status.value for status in JobStatus}


def test_engine_options_read_what_a_set_recorded_and_default_the_rest():
    record = SetRecord(id="s", name="n", created=1.0, inputs=[], backend={"name": "aer"},
                       options={"shots": 10, "engine": {"max_in_flight": 4, "max_retries": 1,
                                                        "on_failure": "abort", "max_usage": 60.0}},
                       total=1, chunk_size=1, num_chunks=1)
    options = record.engine_options()
    assert (options.max_in_flight, options.max_retries, options.on_failure, options.max_usage) == (4, 1, "abort", 60.0)
    assert options.to_dict() == record.options["engine"]  # the same keys, in the same order
    adopted = EngineOptions.from_dict({"max_in_flight": None, "max_retries": 3, "on_failure": "continue",
                                       "future": True})
    assert adopted == EngineOptions() and EngineOptions.from_dict(None) == EngineOptions()
