"""A job set's chunks and results in one SQLite database (store format 2).

``<set id>/set.db`` holds every chunk record, every circuit's result line, shot memory, names
and transpiled circuits; ``set.json`` beside it holds the task (:class:`SetRecord`). While a
writer works SQLite runs in WAL mode: a reader (``status``, ``result``, ``export``,
``--watch``) reads a snapshot while the one writer commits, and never sees a torn state. At
rest (the writer let go) the database is back in rollback mode: one file, which readers open
without creating any, even where they cannot write. Each write is one transaction, so
a chunk's results appear whole or not at all, whatever kills the process; a commit marked
``sync`` (an attempt recorded before its job is submitted) is on disk before the call returns,
the others by the next synced one (a power loss can only lose work to run again).

Schema (``PRAGMA user_version`` = 3; a set of schema 2 is read as it is, and given schema 3's
``tally``, triggers and indexes by its first write: :mod:`jobman.set_tally`)::

    chunks(chunk INTEGER PRIMARY KEY, start, stop, status, record,  -- record: ChunkRecord JSON
           updated, started, failed, touched, final, usage_seconds,  -- its share of the summary
           usage_reported, usage_kind, estimated, counted)          -- (jobman.chunk_digest)
    results(circuit INTEGER PRIMARY KEY, chunk, line)               -- one result line (JSON)
    memory(circuit INTEGER PRIMARY KEY, chunk, shots)               -- packed bytes, with --memory
    names(circuit INTEGER PRIMARY KEY, chunk, name)                 -- indexed by name; NULL: none
    named(chunk INTEGER PRIMARY KEY)                                -- chunks whose names are known
    finished(chunk INTEGER PRIMARY KEY)                             -- chunks whose results are stored
    transpiled(chunk INTEGER PRIMARY KEY, indices, qpy)             -- prepared circuits, QPY
    tally(status, failed, chunks, circuits, finals, touched,         -- the chunks added up per
          usage_seconds, usage_reported, estimated, counted, lost)  -- (status, failed), by triggers
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from jobman import set_tally
from jobman.chunk_digest import COLUMNS, SetTotals, digest
from jobman.exceptions import DamagedSetError, StoreError
from jobman.log import swallowed
from jobman.records import ChunkRecord
from jobman.validate import check_chunk_data, check_line

if TYPE_CHECKING:  # pragma: no cover
    from jobman.paths import SetPaths
    from jobman.store import SetStore

DB_NAME = "set.db"
SCHEMA_VERSION = 3
#: Schemas this jobman reads (2: before the tally; a writer migrates it to 3).
READABLE_SCHEMAS = (2, 3)
SCHEMA = """
CREATE TABLE chunks (chunk INTEGER PRIMARY KEY, start INTEGER NOT NULL, stop INTEGER NOT NULL,
                     status TEXT NOT NULL, record TEXT NOT NULL, updated REAL NOT NULL, started REAL,
                     failed INTEGER NOT NULL, touched INTEGER NOT NULL, final INTEGER NOT NULL,
                     usage_seconds REAL NOT NULL, usage_reported INTEGER NOT NULL, usage_kind TEXT,
                     estimated REAL NOT NULL, counted REAL NOT NULL);
CREATE TABLE results (circuit INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, line TEXT NOT NULL);
CREATE TABLE memory (circuit INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, shots NOT NULL);
CREATE TABLE names (circuit INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, name TEXT);
CREATE INDEX names_by_name ON names (name);
CREATE TABLE named (chunk INTEGER PRIMARY KEY);
CREATE TABLE finished (chunk INTEGER PRIMARY KEY);
CREATE TABLE transpiled (chunk INTEGER PRIMARY KEY, indices TEXT NOT NULL, qpy BLOB NOT NULL);
"""
#: How long a connection waits for another's write lock (only checkpoints and migrations race).
BUSY_TIMEOUT = 30.0


class SetDatabase:
    """The SQLite database of one set: typed reads and one-transaction writes.

    Connections are per thread (a background run writes while the caller's thread reads).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._wal = False  # whether this process put the database in WAL mode to write it
        self.version = SCHEMA_VERSION  # the schema found when the database was opened

    # opening ----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, chunks: Sequence[ChunkRecord],
               names: Callable[[int, int], "list[str] | None"] | None) -> None:
        """Make the database of a new set with its chunk plan (and the names known now)."""
        # made here so that it is private (0600): SQLite gives its -wal and -shm the same mode
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
        os.chmod(path, 0o600)  # whatever the umask
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute("BEGIN")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.executemany(
                f"INSERT INTO chunks VALUES (?, ?, ?, ?, ?{', ?' * len(COLUMNS)})",
                ((c.index, c.start, c.stop, c.status, _dumps(c.to_dict()), *digest(c).row()) for c in chunks))
            for chunk in chunks:
                known = names(chunk.start, chunk.stop) if names is not None else None
                if known is not None:
                    _put_names(connection, chunk.index, chunk.start, known)
            set_tally.add_tally(connection)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            connection.execute("COMMIT")
        finally:
            connection.close()  # checkpoints: the new set is one file until it is opened

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use; a link in the database's place is refused)."""
        found: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if found is not None:
            return found
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            raise DamagedSetError(f"{self.path}: missing (the set's chunks and results)") from None
        except OSError as error:
            raise StoreError(f"cannot open {self.path}: {error.strerror or error}") from None
        if not stat.S_ISREG(mode):
            raise DamagedSetError(f"{self.path}: is not a regular file (a link is never followed)")
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                         check_same_thread=False)
            version = connection.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise DamagedSetError(f"{self.path}: not a jobman database ({error})") from None
        if version not in READABLE_SCHEMAS:
            connection.close()
            raise DamagedSetError(f"{self.path}: database schema {version}, not "
                                  f"{' or '.join(map(str, READABLE_SCHEMAS))}")
        self.version = version
        self._local.connection = connection
        with self._guard:
            self._all.append(connection)
        return connection

    def close(self) -> None:
        """Close this thread's connection; after a writer's, leave WAL mode if no one else has
        the database open, so that a set at rest is one file that readers open without
        creating any (and can read where they cannot write)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            return
        self._local.connection = None
        with self._guard:
            if connection in self._all:
                self._all.remove(connection)
            others = bool(self._all)
        try:
            if self._wal and not others:
                connection.execute("PRAGMA journal_mode=DELETE")
                self._wal = False
        except sqlite3.Error as error:  # a reader elsewhere has it open: it stays in WAL mode
            swallowed(f"leaving WAL mode in {self.path}", error)
        finally:
            connection.close()

    # reading ----------------------------------------------------------------------------
    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql``; a database SQLite cannot read is a DamagedSetError."""
        try:
            return self.connection().execute(sql, args).fetchall()
        except sqlite3.DatabaseError as error:
            raise DamagedSetError(f"{self.path}: {error}") from None

    def tallied(self) -> bool:
        """Whether the database keeps its running totals (schema 3)."""
        self.connection()
        return self.version >= 3

    # writing ----------------------------------------------------------------------------
    def write(self, sync: bool = True) -> "_Transaction":
        """A write transaction (``with db.write() as cursor: ...``), committed at the end."""
        return _Transaction(self, sync)

    def integrity_problems(self) -> list[str]:
        """What ``PRAGMA integrity_check`` finds (empty when the database is sound)."""
        rows = self.query("PRAGMA integrity_check")
        if rows == [("ok",)]:
            return []
        lines = [line.strip() for row in rows for line in str(row[0]).splitlines()]
        return [line for line in lines if line and not line.startswith("***")]


class _Transaction:
    def __init__(self, db: SetDatabase, sync: bool) -> None:
        self.db, self.sync = db, sync
        self.migrated = False

    def __enter__(self) -> sqlite3.Connection:
        connection = self.db.connection()
        try:
            if connection.in_transaction:  # left open by a write that Ctrl-C cut short in here
                connection.execute("ROLLBACK")
            if not self.db._wal:  # readers read beside the writer while it writes
                connection.execute("PRAGMA journal_mode=WAL")
                self.db._wal = True
            mode = "FULL" if self.sync else "NORMAL"
            if getattr(self.db._local, "synchronous", None) != mode:  # this thread's connection's
                connection.execute(f"PRAGMA synchronous={mode}")
                self.db._local.synchronous = mode
            connection.execute("BEGIN IMMEDIATE")
            if self.db.version < SCHEMA_VERSION:
                self._migrate(connection)
        except sqlite3.OperationalError as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StoreError(f"cannot write {self.db.path}: {error}") from None
        self.connection = connection
        return connection

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Schema 2 to 3 (the tally), in the first write's transaction: whole or not at all."""
        if connection.execute("PRAGMA user_version").fetchone()[0] == 2:
            set_tally.add_tally(connection)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self.migrated = True  # the schema is 3 once this transaction commits

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            try:
                self.connection.execute("COMMIT")
                if self.migrated:
                    self.db.version = SCHEMA_VERSION
                return
            except sqlite3.Error as failure:
                error = failure
        if self.connection.in_transaction:  # SQLite ends some failed transactions itself
            self.connection.execute("ROLLBACK")
        if isinstance(error, sqlite3.Error):
            raise StoreError(f"cannot write {self.db.path}: {error}") from None


def database_path(paths: "SetPaths") -> Path:
    """Where the database of the set at ``paths`` lives."""
    return paths.folder / DB_NAME


def _put_chunk(connection: sqlite3.Connection, chunk: ChunkRecord) -> None:
    connection.execute(
        f"UPDATE chunks SET status = ?, record = ?, {', '.join(f'{c} = ?' for c in COLUMNS)} WHERE chunk = ?",
        (chunk.status, _dumps(chunk.to_dict()), *digest(chunk).row(), chunk.index))


def _put_names(connection: sqlite3.Connection, chunk: int, start: int, names: Sequence[Any]) -> None:
    # by the key's range, not by chunk (which has no index): a chunk's circuits are consecutive
    connection.execute("DELETE FROM names WHERE circuit >= ? AND circuit < ?", (start, start + len(names)))
    connection.executemany("INSERT INTO names VALUES (?, ?, ?)",
                           ((start + pos, chunk, None if name is None else str(name))
                            for pos, name in enumerate(names)))
    connection.execute("INSERT OR IGNORE INTO named VALUES (?)", (chunk,))


def _same(one: SetTotals, other: SetTotals) -> bool:
    """Whether two totals agree (sums of seconds to a microsecond)."""
    def rounded(totals: SetTotals) -> dict[str, Any]:
        return {key: round(value, 6) if isinstance(value, float) else value
                for key, value in vars(totals).items()}
    return rounded(one) == rounded(other)


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


def rows_as_lines(rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]]) -> list[bytes]:
    """Stored JSON texts as the undecoded lines readers take."""
    return [row[0].encode() for row in rows]


class DbSetData:
    """The chunks and results of a format-2 set in its :class:`SetDatabase`, for its
    :class:`~jobman.store.SetStore`."""

    def __init__(self, owner: "SetStore") -> None:
        self.owner = owner
        self.paths = owner.paths
        self.db = SetDatabase(database_path(owner.paths))

    def close(self) -> None:
        self.db.close()

    def chunk_location(self, index: int) -> str:
        return f"{self.db.path} (chunk {index})"

    def results_location(self, index: int) -> str:
        return f"{self.db.path} (results of chunk {index})"

    # chunks -------------------------------------------------------------------------
    def chunk(self, index: int) -> ChunkRecord:
        rows = self.db.query("SELECT record FROM chunks WHERE chunk = ?", (index,))
        if not rows:
            raise DamagedSetError(f"{self.chunk_location(index)}: missing "
                                  f"(the set has {self.owner.record.num_chunks} chunks)")
        return self._chunk(index, rows[0][0])

    def chunks(self) -> list[ChunkRecord]:
        rows = self.db.query("SELECT chunk, record FROM chunks ORDER BY chunk")
        if [row[0] for row in rows] != list(range(self.owner.record.num_chunks)):
            present = {row[0] for row in rows}
            gone = next(i for i in range(self.owner.record.num_chunks) if i not in present) \
                if len(present) < self.owner.record.num_chunks else len(rows)
            raise DamagedSetError(f"{self.chunk_location(gone)}: missing or unexpected "
                                  f"(the set has {self.owner.record.num_chunks} chunks)")
        return [self._chunk(index, text) for index, text in rows]

    def _chunk(self, index: int, text: str) -> ChunkRecord:
        start, stop = self.owner.chunk_range(index)
        try:
            return ChunkRecord.from_dict(check_chunk_data(json.loads(text), index, start, stop))
        except ValueError as error:  # ShapeError, or not JSON
            raise DamagedSetError(f"{self.chunk_location(index)}: {error}") from None

    def save_chunk(self, chunk: ChunkRecord, *, sync: bool = True) -> None:
        with self.db.write(sync) as connection:
            _put_chunk(connection, chunk)

    # results ------------------------------------------------------------------------
    def write_results(self, chunk: int, lines: list[dict[str, Any]], names: list[str | None],
                      memory: list[list[str] | None] | None = None) -> None:
        # not synced: lost with a power cut, they are fetched or run again by the job id
        # that the chunk's attempt record (always synced) holds
        with self.db.write(sync=False) as connection:
            self._put_results(connection, chunk, lines, names, memory)

    def finish_chunk(self, record: ChunkRecord, lines: list[dict[str, Any]], names: list[str | None],
                     memory: list[list[str] | None] | None = None, *, sync: bool = True) -> None:
        with self.db.write(sync) as connection:
            self._put_results(connection, record.index, lines, names, memory)
            _put_chunk(connection, record)

    def _put_results(self, connection: sqlite3.Connection, chunk: int, lines: list[dict[str, Any]],
                     names: list[str | None], memory: list[list[str] | None] | None) -> None:
        start, stop = self.owner.chunk_range(chunk)
        span = (start, stop)  # a chunk's circuits: a range of the key (chunk has no index)
        connection.execute("DELETE FROM results WHERE circuit >= ? AND circuit < ?", span)
        connection.execute("DELETE FROM memory WHERE circuit >= ? AND circuit < ?", span)
        connection.executemany("INSERT INTO results VALUES (?, ?, ?)",
                               ((start + pos, chunk, _dumps(line)) for pos, line in enumerate(lines)))
        if memory is not None and any(m is not None for m in memory):
            connection.executemany("INSERT INTO memory VALUES (?, ?, ?)",
                                   ((start + pos, chunk, pack_shots(m)) for pos, m in enumerate(memory)))
        _put_names(connection, chunk, start, names)
        connection.execute("INSERT OR IGNORE INTO finished VALUES (?)", (chunk,))

    def decode_line(self, chunk: int, index: int, raw: bytes) -> dict[str, Any]:
        try:
            return check_line(json.loads(raw), index)
        except ValueError as error:
            raise DamagedSetError(f"{self.results_location(chunk)}: circuit {index}: {error}") from None

    def read_memory(self, chunk: int) -> list[list[str] | None] | None:
        if not self.has_results(chunk):
            return None
        rows = self.db.query("SELECT shots FROM memory WHERE circuit >= ? AND circuit < ? ORDER BY circuit",
                             self.owner.chunk_range(chunk))
        try:
            return [unpack_shots(row[0]) for row in rows] or None  # unpacked once, no JSON between
        except (ValueError, IndexError) as error:
            raise DamagedSetError(f"{self.results_location(chunk)}: shot memory is damaged "
                                  f"({error})") from None

    def result_lines(self, chunk: int, memory: bool = False, expected: int | None = None
                     ) -> list[bytes] | None:
        if not self.has_results(chunk):
            return None
        table, column = ("memory", "shots") if memory else ("results", "line")
        lines = (_unpacked if memory else rows_as_lines)(self.db.query(
            f"SELECT {column} FROM {table} WHERE circuit >= ? AND circuit < ? ORDER BY circuit",
            self.owner.chunk_range(chunk)))
        if memory and not lines:
            return None
        if expected is not None and len(lines) != expected:
            raise DamagedSetError(f"{self.results_location(chunk)}: has {len(lines)} result lines "
                                  f"for the chunk's {expected} circuits (truncated or damaged)")
        return lines

    def has_results(self, chunk: int) -> bool:
        return bool(self.db.query("SELECT 1 FROM finished WHERE chunk = ?", (chunk,)))

    def chunks_with_results(self) -> set[int]:
        return {row[0] for row in self.db.query("SELECT chunk FROM finished")}

    def totals(self) -> SetTotals:
        """The set's chunks added up from its tally (schema 2: by one scan of its chunks)."""
        return self._totals(self.db.tallied())

    def _totals(self, tallied: bool) -> SetTotals:
        return set_tally.totals(self.db.query, self._chunk, self.owner.record.num_chunks, tallied,
                                str(self.db.path))

    # names --------------------------------------------------------------------------
    def read_names(self, chunk: int) -> list[str] | None:
        if not self.db.query("SELECT 1 FROM named WHERE chunk = ?", (chunk,)):
            return None
        return [row[0] for row in self.db.query(
            "SELECT name FROM names WHERE circuit >= ? AND circuit < ? ORDER BY circuit",
            self.owner.chunk_range(chunk))]

    def fill_names(self, names: Any) -> int:
        named = {row[0] for row in self.db.query("SELECT chunk FROM named")}
        found = []
        for chunk in range(self.owner.record.num_chunks):
            if chunk not in named:
                start, stop = self.owner.chunk_range(chunk)
                chunk_names = names(start, stop)
                if chunk_names is not None:
                    found.append((chunk, start, chunk_names))
        if found:
            with self.db.write(sync=False) as connection:
                for chunk, start, chunk_names in found:
                    _put_names(connection, chunk, start, chunk_names)
        return len(found)

    def unnamed_chunks(self) -> list[int]:
        named = {row[0] for row in self.db.query("SELECT chunk FROM named")}
        return [c for c in range(self.owner.record.num_chunks) if c not in named]

    def find_names(self, name: str) -> list[int]:
        return [row[0] for row in self.db.query(
            "SELECT circuit FROM names WHERE name = ? ORDER BY circuit", (name,))]

    def find_name(self, name: str) -> int | None:
        rows = self.db.query("SELECT min(circuit) FROM names WHERE name = ?", (name,))
        return rows[0][0] if rows and rows[0][0] is not None else None

    # transpiled circuits ------------------------------------------------------------
    def save_transpiled(self, chunk: int, circuits: dict[int, Any]) -> None:
        from jobman.qpy_codec import dumps

        indices = sorted(circuits)
        data = dumps([circuits[i] for i in indices])  # delays keep their units
        with self.db.write(sync=False) as connection:
            connection.execute("INSERT OR REPLACE INTO transpiled VALUES (?, ?, ?)",
                               (chunk, _dumps(indices), data))

    def load_transpiled(self, chunk: int) -> dict[int, Any]:
        from jobman.qpy_codec import loads

        try:
            rows = self.db.query("SELECT indices, qpy FROM transpiled WHERE chunk = ?", (chunk,))
            if not rows:
                return {}
            indices, circuits = json.loads(rows[0][0]), loads(rows[0][1])
        except Exception as error:  # unusable: prepare again rather than fail
            swallowed(f"reading the transpiled circuits of chunk {chunk}", error)
            return {}
        if not isinstance(indices, list) or len(indices) != len(circuits):
            return {}
        return dict(zip((int(i) for i in indices), circuits))

    # checking -----------------------------------------------------------------------
    def integrity_problems(self) -> list[str]:
        """What SQLite's own ``PRAGMA integrity_check`` finds in the set's database, and a
        tally that disagrees with the chunks it adds up."""
        problems = self.db.integrity_problems()
        try:
            if not problems and self.db.tallied() and not _same(self._totals(True), self._totals(False)):
                problems.append(f"{self.db.path}: the tally disagrees with the chunks it adds up "
                                "(edited by hand?)")
        except DamagedSetError as error:  # missing chunks: the set's own checks name them
            swallowed(f"comparing the tally of {self.db.path}", error)
        return problems


__all__ = ["DB_NAME", "DbSetData", "SetDatabase", "database_path"]


def pack_shots(shots: list[str] | None) -> bytes | str:
    """A circuit's shot memory (Qiskit's hex strings, ``"0x5"``) as BitArray packs it: one
    big-endian row of ``width`` bytes per shot, after one byte giving ``width``. Memory that hex
    strings would not give back exactly (or none, or over 255 bytes a shot) stays JSON text."""
    if not shots:
        return _dumps(shots)
    try:
        values = [int(shot, 16) for shot in shots]
    except (TypeError, ValueError):
        return _dumps(shots)
    if any(hex(value) != shot for value, shot in zip(values, shots)):
        return _dumps(shots)
    width = max(1, -(-max(values).bit_length() // 8))
    if width > 255:
        return _dumps(shots)
    return bytes([width]) + b"".join(value.to_bytes(width, "big") for value in values)


def unpack_shots(stored: bytes | str) -> list[str] | None:
    """The hex strings :func:`pack_shots` was given."""
    if isinstance(stored, str):
        shots: list[str] | None = json.loads(stored)
        return shots
    width = stored[0]
    return [hex(int.from_bytes(stored[at:at + width], "big")) for at in range(1, len(stored), width)]


def _unpacked(rows: list[tuple[Any, ...]]) -> list[bytes]:
    """Stored shot memory as the JSON lines readers take."""
    return [_dumps(unpack_shots(row[0])).encode() for row in rows]
