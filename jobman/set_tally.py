"""A set's running totals in its database (schema 3), so that ``jobman status`` costs the same
on a million circuits as on a thousand.

The ``tally`` table holds, per (status, failed) pair, the sum of what its chunks add to the
summary (their :class:`~jobman.chunk_digest.ChunkDigest` columns). Triggers on ``chunks`` and
``finished`` keep it in the same transaction as every write, whoever writes (jobman, or a
``sqlite3`` shell), so it can never disagree with the rows it adds up. The earliest start, the
last update, the first usage kind and the chunks with failed ranges are read through indexes.
A set of schema 2 (no tally) is added up by one scan of its chunks, and gets its tally, in one
transaction, the first time a writer opens it (:func:`migrate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from jobman.chunk_digest import SetTotals
from jobman.exceptions import DamagedSetError
from jobman.records import ChunkRecord

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

#: Each tally column and a chunk row's share of it ({r}: the row, NEW or OLD in a trigger).
SHARES = {
    "chunks": "1", "circuits": "{r}.stop - {r}.start", "finals": "{r}.final", "touched": "{r}.touched",
    "usage_seconds": "{r}.usage_seconds", "usage_reported": "{r}.usage_reported",
    "estimated": "{r}.estimated", "counted": "{r}.counted",
    "lost": "({r}.final AND NOT EXISTS (SELECT 1 FROM finished WHERE chunk = {r}.chunk))",
}
#: The same shares added up over the chunks table (for a schema-2 set, and to fill a new tally).
SCANNED = ("count(*), sum(stop - start), sum(final), sum(touched), sum(usage_seconds), "
           "sum(usage_reported), sum(estimated), sum(counted), sum(final AND f.chunk IS NULL)")
FROM_CHUNKS = "FROM chunks AS c LEFT JOIN finished AS f ON f.chunk = c.chunk GROUP BY status, failed"


def _share(row: str, sign: str) -> str:
    sets = ", ".join(f"{column} = {column} {sign} ({share.format(r=row)})" for column, share in SHARES.items())
    make = f"INSERT OR IGNORE INTO tally (status, failed) VALUES ({row}.status, {row}.failed); " \
        if sign == "+" else ""
    return f"{make}UPDATE tally SET {sets} WHERE status = {row}.status AND failed = {row}.failed;"


def _finished(row: str, sign: str) -> str:
    return (f"UPDATE tally SET lost = lost {sign} 1 WHERE EXISTS (SELECT 1 FROM chunks AS c WHERE "
            f"c.chunk = {row}.chunk AND c.final AND c.status = tally.status AND c.failed = tally.failed);")


#: What schema 3 adds to schema 2, statement by statement.
TALLY_SCHEMA = [
    "CREATE TABLE tally (status TEXT NOT NULL, failed INTEGER NOT NULL, "
    + ", ".join(f"{column} NOT NULL DEFAULT 0" for column in SHARES) + ", PRIMARY KEY (status, failed))",
    f"CREATE TRIGGER tally_chunk_added AFTER INSERT ON chunks BEGIN {_share('NEW', '+')} END",
    f"CREATE TRIGGER tally_chunk_removed AFTER DELETE ON chunks BEGIN {_share('OLD', '-')} END",
    f"CREATE TRIGGER tally_chunk_changed AFTER UPDATE ON chunks BEGIN {_share('OLD', '-')} "
    f"{_share('NEW', '+')} END",
    f"CREATE TRIGGER tally_finished_added AFTER INSERT ON finished BEGIN {_finished('NEW', '-')} END",
    f"CREATE TRIGGER tally_finished_removed AFTER DELETE ON finished BEGIN {_finished('OLD', '+')} END",
    f"CREATE TRIGGER tally_finished_changed AFTER UPDATE ON finished BEGIN {_finished('OLD', '+')} "
    f"{_finished('NEW', '-')} END",
    "CREATE INDEX chunks_by_started ON chunks (started)",
    "CREATE INDEX chunks_by_updated ON chunks (updated)",
    "CREATE INDEX chunks_failed ON chunks (chunk) WHERE failed = 1",
    "CREATE INDEX chunks_with_usage_kind ON chunks (chunk) WHERE usage_kind IS NOT NULL",
]


def add_tally(connection: "sqlite3.Connection") -> None:
    """Give a set's database its tally, filled from its chunks (inside the caller's transaction)."""
    for statement in TALLY_SCHEMA:
        connection.execute(statement)
    connection.execute(f"INSERT INTO tally (status, failed, {', '.join(SHARES)}) "
                       f"SELECT status, failed, {SCANNED} {FROM_CHUNKS}")


Query = Callable[..., "list[tuple[Any, ...]]"]
Decode = Callable[[int, str], ChunkRecord]


def totals(query: Query, decode: Decode, num_chunks: int, tallied: bool, where: str) -> SetTotals:
    """The set's chunks added up: from its tally (``tallied``), else by one scan of its chunks;
    the chunks with failed ranges read whole (``decode``), and final chunks whose results are gone."""
    if tallied:
        groups = query(f"SELECT status, failed, {', '.join(SHARES)} FROM tally WHERE chunks > 0")
        started = query("SELECT min(started) FROM chunks")[0][0]
        updated = query("SELECT max(updated) FROM chunks")[0][0]
        kinds = query("SELECT usage_kind FROM chunks WHERE usage_kind IS NOT NULL ORDER BY chunk LIMIT 1")
    else:
        scanned = query(f"SELECT status, failed, {SCANNED}, min(started), max(updated), min(CASE WHEN "
                        "usage_kind IS NOT NULL THEN printf('%012d %s', c.chunk, usage_kind) END) "
                        f"{FROM_CHUNKS}")
        groups = [row[:11] for row in scanned]
        started = min((row[11] for row in scanned if row[11] is not None), default=None)
        updated = max((row[12] for row in scanned if row[12] is not None), default=None)
        kinds = [(min(row[13] for row in scanned if row[13] is not None).split(" ", 1)[1],)] \
            if any(row[13] is not None for row in scanned) else []
    return _added_up(query, decode, num_chunks, groups, where, started=started, updated=updated,
                     usage_kind=kinds[0][0] if kinds else None)


def _added_up(query: Query, decode: Decode, num_chunks: int, groups: list[tuple[Any, ...]], where: str,
              **times: Any) -> SetTotals:
    counts: dict[str, int] = {}
    plain: dict[str, int] = {}
    sums = [0, 0, 0, 0.0, 0, 0.0, 0.0, 0]  # chunks, finals, touched, usage, reported, estimated, counted, lost
    any_failed = False
    for status, failed, chunks, circuits, *rest in groups:
        counts[status] = counts.get(status, 0) + chunks
        if failed:
            any_failed = True
        else:
            plain[status] = plain.get(status, 0) + circuits
        sums = [total + (value or 0) for total, value in zip(sums, (chunks, *rest))]
    number, finals, touched, seconds, reported, estimated, counted, lost = sums
    # sums kept by adding and taking away may drift by an ulp: never below zero
    seconds, estimated, counted = (max(0.0, value) for value in (seconds, estimated, counted))
    if number != num_chunks:
        raise DamagedSetError(f"{where}: has {number} chunk records; the set has {num_chunks} chunks")
    failed_rows = query("SELECT chunk, record FROM chunks WHERE failed = 1 ORDER BY chunk") if any_failed else []
    lost_chunks = [row[0] for row in query(
        "SELECT chunk FROM chunks WHERE final = 1 AND chunk NOT IN (SELECT chunk FROM finished)")] \
        if lost else []
    return SetTotals(chunks=int(number), chunk_counts=counts, plain_circuits=plain,
                     failed_records=[decode(index, text) for index, text in failed_rows],
                     lost=lost_chunks, all_final=finals == number, any_touched=touched > 0,
                     usage_seconds=seconds, usage_reported=int(reported), estimated=estimated, counted=counted,
                     **times)


__all__ = ["TALLY_SCHEMA", "add_tally", "totals"]
