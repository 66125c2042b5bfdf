"""A set's running totals (schema 3's tally): always what a scan of its chunks adds up, kept by
triggers whoever writes, and given to a set of schema 2 by its first write."""

from __future__ import annotations

import sqlite3

from cli_support import make_set
from jobman.check import check_set
from jobman.set_db import DB_NAME, SCHEMA_VERSION, _same
from jobman.set_tally import TALLY_SCHEMA
from jobman.status import JobStatus
from jobman.store import Store
from jobman.summary import summarize

SET = "20260105-000000-dddddd"  # 10 circuits in chunks of 4: 0-3, 4-7, 8-9


def database(set_store) -> sqlite3.Connection:
    set_store.close()  # the set's own connections go: what follows is another process's edit
    return sqlite3.connect(set_store.paths.folder / DB_NAME, isolation_level=None)


def agrees(set_store) -> bool:
    return _same(set_store.data._totals(True), set_store.data._totals(False))


def test_the_tally_is_what_the_chunks_add_up_after_any_write(tmp_path):
    set_store = make_set(tmp_path, SET, failed={5: "boom"}, cancelled=[9], unfinished={0})
    assert set_store.data.db.tallied() and agrees(set_store)
    by_records = summarize(set_store, chunks=set_store.chunks(), running=False)
    assert summarize(set_store, running=False) == by_records
    chunk = set_store.chunk(0)
    chunk.set_status(JobStatus.RUNNING, 5.0)
    set_store.save_chunk(chunk)
    assert agrees(set_store) and summarize(set_store, running=False).circuits["RUNNING"] == 4
    with database(set_store) as db:  # a hand edit: the triggers keep the tally too
        db.execute("DELETE FROM finished WHERE chunk = 1")
    reopened = Store(tmp_path).open_set(SET)
    assert agrees(reopened) and reopened.totals().lost == [1]
    assert check_set(reopened) != [] and reopened.integrity_problems() == []


def downgrade(set_store) -> None:
    """Make the set's database as schema 2 made it (no tally, triggers or their indexes)."""
    with database(set_store) as db:
        for statement in TALLY_SCHEMA:
            kind, name = statement.split()[1], statement.split()[2]
            db.execute(f"DROP {kind} {name}")
        db.execute("PRAGMA user_version=2")


def test_a_set_of_schema_2_is_read_as_it_is_and_migrated_by_its_first_write(tmp_path):
    made = make_set(tmp_path, SET, failed={5: "boom"}, unfinished={2})
    expected = summarize(made, running=False)
    downgrade(made)
    old = Store(tmp_path).open_set(SET)
    assert not old.data.db.tallied() and summarize(old, running=False) == expected
    assert check_set(old) == [] and old.integrity_problems() == []
    chunk = old.chunk(2)
    chunk.set_status(JobStatus.RUNNING, 6.0)
    old.save_chunk(chunk)  # the first write adds the tally, in its own transaction
    old.close()
    new = Store(tmp_path).open_set(SET)
    assert new.data.db.tallied() and agrees(new)
    with database(new) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert Store(tmp_path).open_set(SET).totals().chunk_counts["RUNNING"] == 1


def test_a_tally_edited_by_hand_is_found_by_check(tmp_path):
    set_store = make_set(tmp_path, SET)
    with database(set_store) as db:
        db.execute("UPDATE tally SET circuits = circuits + 1")
    problems = Store(tmp_path).open_set(SET).integrity_problems()
    assert problems and "tally disagrees" in problems[0]
