"""The store's catalogue: `jobman list` rows cached, and never a row the set no longer has."""

import pytest

from jobman import catalogue
from jobman.catalogue import NAME, Catalogue
from jobman.status import JobStatus
from jobman.store import Store
from tests.test_store import make_set

A, B = "20260101-000000-aaaaaa", "20260102-000000-bbbbbb"


@pytest.fixture
def settled(monkeypatch):
    """Files count as settled at once (not only after RACY_SECONDS)."""
    monkeypatch.setattr(catalogue, "RACY_SECONDS", 0.0)


def listed(store: Store) -> dict[str, dict]:
    listing = store.listing()
    rows = {set_id: row for set_id, row in listing.rows()}
    listing.save()
    return rows


def refuse_reads(monkeypatch, store: Store) -> None:
    def refused(set_id):
        raise AssertionError(f"set {set_id} was read")
    monkeypatch.setattr(store, "try_open", refused)


def finish(set_store, status=JobStatus.DONE) -> None:
    for chunk in set_store.chunks():
        set_store.write_results(chunk.index, [{"index": i, "status": "DONE", "counts": {"0": 10}}
                                              for i in range(chunk.start, chunk.stop)],
                                [f"c{i}" for i in range(chunk.start, chunk.stop)])
        chunk.set_status(status, 2.0)
        set_store.save_chunk(chunk)
    set_store.close()  # its writer lets go: the database leaves WAL mode


def test_rows_are_catalogued_and_then_shown_without_reading_the_sets(tmp_path, settled, monkeypatch):
    store = Store(tmp_path)
    finish(make_set(store, A))
    make_set(store, B, name="other")
    first = listed(store)
    assert first[A]["status"] == "DONE" and first[B]["status"] == "INTERRUPTED"
    assert set(Catalogue(tmp_path).rows()) == {A, B}
    refuse_reads(monkeypatch, store)
    assert listed(store) == first


def test_a_set_written_since_is_read_again(tmp_path, settled):
    store = Store(tmp_path)
    set_store = make_set(store, A)
    assert listed(store)[A]["status"] == "INTERRUPTED"
    chunk = set_store.chunk(0)
    chunk.set_status(JobStatus.RUNNING, 2.0)
    set_store.save_chunk(chunk)
    assert listed(store)[A]["circuits"] == {"RUNNING": 4, "PENDING": 6}  # in WAL mode: read
    set_store.close()
    assert listed(store)[A]["circuits"] == {"RUNNING": 4, "PENDING": 6}
    assert Catalogue(tmp_path).rows()[A][1]["circuits"] == {"RUNNING": 4, "PENDING": 6}
    set_store.record.tags = {"team": "qv"}
    set_store.save_record()
    assert listed(store)[A]["tags"] == {"team": "qv"}


def test_a_running_set_is_never_taken_from_the_catalogue(tmp_path, settled):
    store = Store(tmp_path)
    finish(make_set(store, A))
    assert listed(store)[A]["status"] == "DONE"
    set_store = store.open_set(A)
    handle = set_store.acquire_lock()  # a writer takes the lock (and writes its pid into it)
    try:
        assert listed(store)[A]["status"] == "RUNNING"
        assert Catalogue(tmp_path).rows()[A][1]["status"] == "DONE"  # not cached while running
    finally:
        handle.close()
    assert listed(store)[A]["status"] == "DONE"


def test_the_writer_catalogues_its_set_as_it_lets_go(tmp_path, monkeypatch):
    store = Store(tmp_path)
    set_store = make_set(store, A)
    with set_store.lock():
        finish(set_store)
    assert Catalogue(tmp_path).rows()[A][1]["status"] == "DONE"
    refuse_reads(monkeypatch, store)
    assert listed(store)[A]["status"] == "DONE"


def test_fresh_files_are_not_cached_by_a_reader(tmp_path):
    store = Store(tmp_path)
    make_set(store, A)
    assert listed(store)[A]["status"] == "INTERRUPTED"
    assert Catalogue(tmp_path).rows() == {}  # written within RACY_SECONDS: read again next time


def test_a_lost_or_damaged_catalogue_is_rebuilt_and_deleted_sets_dropped(tmp_path, settled):
    store = Store(tmp_path)
    finish(make_set(store, A))
    make_set(store, B)
    rows = listed(store)
    (tmp_path / NAME).unlink()
    assert listed(store) == rows and set(Catalogue(tmp_path).rows()) == {A, B}
    (tmp_path / NAME).write_bytes(b"not a database" * 100)
    assert listed(store) == rows
    store.delete_set(B)
    assert set(listed(store)) == {A}
    (tmp_path / NAME).unlink()
    store.delete_set(A)
    assert not (tmp_path / NAME).exists()  # a delete makes no catalogue


def test_sets_of_format_1_are_catalogued_and_read_again_when_written(tmp_path, settled, first_format):
    store = Store(tmp_path)
    set_store = make_set(store, A)
    assert listed(store)[A]["status"] == "INTERRUPTED" and A in Catalogue(tmp_path).rows()
    finish(set_store)
    assert listed(store)[A]["status"] == "DONE"
