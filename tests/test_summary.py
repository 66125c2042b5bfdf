"""summary.set_state: the lifecycle state from chunk records and whether a process holds the set."""

from jobman.records import Attempt, ChunkRecord
from jobman.status import SetState
from jobman.summary import set_state


def chunk(status: str = "PENDING", failed=(), attempts=()) -> ChunkRecord:
    return ChunkRecord(index=0, start=0, stop=4, status=status, failed=[list(f) for f in failed],
                       attempts=list(attempts))


def test_unfinished_sets_are_pending_running_or_interrupted():
    assert set_state([chunk(), chunk()], running=True) is SetState.PENDING
    assert set_state([chunk("QUEUED"), chunk()], running=True) is SetState.RUNNING
    assert set_state([chunk(attempts=[Attempt(1, [])])], running=True) is SetState.RUNNING
    assert set_state([chunk("DONE"), chunk()], running=True) is SetState.RUNNING
    assert set_state([chunk(), chunk()], running=False) is SetState.INTERRUPTED
    assert set_state([chunk("DONE"), chunk("RUNNING")], running=False) is SetState.INTERRUPTED


def test_final_sets_are_done_with_or_without_failures_or_cancelled():
    assert set_state([chunk("DONE"), chunk("DONE")], running=False) is SetState.DONE
    failed = chunk("ERROR", failed=[(0, 4, "ERROR", "boom")])
    assert set_state([chunk("DONE"), failed], running=False) is SetState.DONE
    # a process still holds it (a retry about to resubmit, a run about to let go): not final yet
    assert set_state([chunk("DONE"), failed], running=True) is SetState.RUNNING
    cancelled = chunk("CANCELLED", failed=[(0, 4, "CANCELLED", "cancelled by request")])
    assert set_state([failed, cancelled], running=False) is SetState.CANCELLED
    assert all(state.is_final for state in (SetState.DONE, SetState.CANCELLED))
    assert not any(s.is_final for s in (SetState.PENDING, SetState.RUNNING, SetState.INTERRUPTED))


def _both_ways(set_store, running=None):
    from jobman.summary import summarize

    by_query = summarize(set_store, running=running)
    by_records = summarize(set_store, chunks=set_store.chunks(), running=running)
    return by_query, by_records


def test_a_format_2_set_adds_up_by_query_exactly_as_from_its_records(tmp_path, small_qpy):
    from cli_support import make_set
    from jobman.manager import JobManager
    from jobman.store import Store

    root = tmp_path / "store"
    sets = [make_set(root, "20260101-000000-aaaaaa"),
            make_set(root, "20260102-000000-bbbbbb", failed={5: "boom", 6: "bang"}, cancelled={9}),
            make_set(root, "20260103-000000-cccccc", unfinished={0, 2}, failed={5: "boom"}),
            make_set(root, "20260104-000000-dddddd", unfinished={0, 1, 2})]
    ran = JobManager(root).run(small_qpy, "aer", shots=10, chunk_size=7, seed=1)
    sets.append(Store(root).open_set(ran.job_set_id()))
    for set_store in sets:
        assert set_store.totals() is not None  # format 2: the query path is taken
        for running in (None, True, False):
            by_query, by_records = _both_ways(set_store, running)
            assert by_query == by_records, set_store.id
    statuses = [_both_ways(s)[0].status for s in sets]
    assert statuses == ["DONE", "CANCELLED", "INTERRUPTED", "INTERRUPTED", "DONE"]
    record = sets[0].chunk(1)  # a chunk reopened: the queries follow its record
    record.status = "RUNNING"
    sets[0].save_chunk(record)
    by_query, by_records = _both_ways(sets[0])
    assert by_query == by_records and by_query.chunks == {"RUNNING": 1, "DONE": 2}
    assert by_query.circuits == {"RUNNING": 4, "DONE": 6} and by_query.status is SetState.INTERRUPTED


def test_a_summary_is_typed_and_its_json_has_exactly_the_keys_status_json_always_had(tmp_path):
    import json

    from cli_support import make_set
    from jobman.summary import SetSummary, exit_code, summarize

    set_store = make_set(tmp_path, "20260102-000000-bbbbbb", failed={5: "boom"})
    summary = summarize(set_store, running=False)
    assert summary.status is SetState.DONE and summary.failed == 1 and exit_code(summary) == 3
    data = json.loads(json.dumps(summary.to_dict()))
    assert list(data) == ["id", "name", "status", "created", "updated", "started", "finished", "backend",
                          "shots", "total", "chunk_size", "num_chunks", "circuits", "failed", "chunks",
                          "failures", "running", "sessions", "usage", "stopped", "failure_groups", "unit"]
    assert data["status"] == "DONE" and SetSummary.from_dict(dict(data, later=1)) == summary
    detailed = summarize(set_store, detail=True, running=False).to_dict()
    assert [row["chunk"] for row in detailed["chunk_detail"]] == list(range(set_store.record.num_chunks))
    assert "copy_of" not in detailed and "damaged" not in detailed  # only when they apply
    assert data["unit"] == "circuit" and "precisions" not in data  # a sampler task takes shots
