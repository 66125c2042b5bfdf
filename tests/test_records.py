"""Set and chunk records: JSON-ready dicts and back, unknown keys of newer writers ignored."""

from __future__ import annotations

import json

from jobman.records import (ATTEMPT_FINAL, ATTEMPT_LOST, FORMAT_VERSION, EngineOptions, ChunkRecord, SetRecord, attempt_indices, compress_ranges,
                            new_attempt)
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
