"""summary.set_state: the lifecycle state from chunk records and whether a process holds the set."""

from jobman.records import ChunkRecord
from jobman.status import SetState
from jobman.summary import set_state


def chunk(status: str = "PENDING", failed=(), attempts=()) -> ChunkRecord:
    return ChunkRecord(index=0, start=0, stop=4, status=status, failed=[list(f) for f in failed],
                       attempts=list(attempts))


def test_unfinished_sets_are_pending_running_or_interrupted():
    assert set_state([chunk(), chunk()], running=True) is SetState.PENDING
    assert set_state([chunk("QUEUED"), chunk()], running=True) is SetState.RUNNING
    assert set_state([chunk(attempts=[{"number": 1}])], running=True) is SetState.RUNNING
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
