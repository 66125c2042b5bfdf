"""The store's catalogue: every set's ``jobman list`` row, cached in one small SQLite file.

``<root>/.catalogue.db`` maps each set id to its row (id, name, state, circuits, backend,
tags, ...) and to the *signature* of the set's files when that row was computed: the inode,
size, mtime and ctime of the set's folder, ``set.json``, ``lock``, ``set.db``, and format 1's ``chunks/`` and ``results/`` folders. ``jobman list`` stats those
files (no set is opened, no lock probed) and shows a cached row only while its signature still
matches; any other set is read as before and its row cached again. That is how the catalogue
is reconciled, and why it never shows a wrong state:

* every write to a set changes its signature: a format-2 commit changes ``set.db`` and
  creates a journal in the folder, or, while a writer works, the database is in WAL mode,
  and a set with a ``set.db-wal`` is always read; format 1 renames files into its folders;
  ``set.json`` is replaced; a writer that takes the lock writes its pid into ``lock``;
* a row computed while a process held the lock (RUNNING, PENDING) is never trusted: such a set
  is read again, with its lock probed, every time;
* a row is not cached by a reader while any of its files changed in the last
  :data:`RACY_SECONDS` (a second write within the file system's timestamp granularity would
  not show); the writer itself records its set's row when it lets go of the lock (its last
  write is behind it, and the next writer rewrites ``lock``);
* sets that are gone are dropped, new ones (or a catalogue deleted, damaged, or left behind by
  a crash) are read and catalogued: the catalogue is a cache, and losing it loses nothing.

Where the root is not writable, or is on a network filesystem (where SQLite's locks may not
hold), ``jobman list`` keeps no catalogue and reads every set, as before.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from jobman.exceptions import StoreError
from jobman.log import swallowed

if TYPE_CHECKING:  # pragma: no cover
    from jobman.store import SetStore, Store

NAME = ".catalogue.db"
SCHEMA_VERSION = 1
#: A reader caches no row whose files changed more recently than this (seconds).
RACY_SECONDS = 2.0
#: The files whose stat is a set's signature (relative to its folder; "" is the folder).
SIGNED = ("", "set.json", "lock", "set.db", "chunks", "results")
#: A set whose database has this beside it is being written (or its writer died): always read.
WAL = "set.db-wal"
#: The keys of a list row (besides ``tags``).
ROW_KEYS = ("id", "name", "status", "backend", "total", "created", "circuits", "failed", "running",
            "copy_of")
#: How long the catalogue waits for another process's write (it is skipped after that).
BUSY_TIMEOUT = 2.0


def signature(folder: Path) -> tuple[str, int] | None:
    """The set in ``folder``'s signature, and the newest mtime (ns) in it; None when a file
    cannot be asked, or the database is in WAL mode (the set is read instead)."""
    base = os.fspath(folder) + os.sep  # strings, not Paths: this runs for every set listed
    if os.path.lexists(base + WAL):
        return None  # a reader opening it may change the -wal's ctime: never a signature
    parts, newest = [], 0
    for name in SIGNED:
        try:
            found = os.stat(base + name, follow_symlinks=False)
        except FileNotFoundError:
            parts.append("-")
            continue
        except OSError:
            return None
        parts.append(f"{found.st_ino}:{found.st_size}:{found.st_mtime_ns}:{found.st_ctime_ns}")
        newest = max(newest, found.st_mtime_ns, found.st_ctime_ns)
    return "|".join(parts), newest


def list_row(set_store: "SetStore", running: bool | None = None) -> dict[str, Any]:
    """The set's ``jobman list`` row (``running``: as :func:`jobman.summary.summarize` takes it)."""
    from jobman.summary import summarize

    summary = summarize(set_store, running=running).to_dict()
    row = {key: summary[key] for key in ROW_KEYS if key in summary}
    row["tags"] = dict(set_store.record.tags)
    return row


class Catalogue:
    """The catalogue file of one store root."""

    def __init__(self, root: Path) -> None:
        self.path = root / NAME

    def _connect(self) -> sqlite3.Connection | None:
        try:
            if os.path.islink(self.path):
                raise StoreError(f"{self.path} is a link (never followed)")
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("DROP TABLE IF EXISTS sets")
                connection.execute("CREATE TABLE sets (id TEXT PRIMARY KEY, signature TEXT NOT NULL, "
                                   "row TEXT NOT NULL)")
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                connection.execute("COMMIT")
            return connection
        except (sqlite3.Error, OSError, StoreError) as error:
            swallowed(f"opening the store's catalogue {self.path}", error)
            return None

    def rows(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Every catalogued set: its signature and row (empty when there is no catalogue)."""
        if not os.path.lexists(self.path):
            return {}
        connection = self._connect()
        if connection is None:
            return {}
        try:
            return {set_id: (sign, json.loads(row)) for set_id, sign, row in
                    connection.execute("SELECT id, signature, row FROM sets")}
        except (sqlite3.Error, ValueError) as error:
            swallowed(f"reading the store's catalogue {self.path}", error)
            return {}
        finally:
            connection.close()

    def update(self, rows: dict[str, tuple[str, dict[str, Any]]], gone: "set[str] | None" = None) -> None:
        """Record ``rows`` (id -> signature, row) and drop the sets ``gone``, in one transaction."""
        if not rows and (not gone or not os.path.lexists(self.path)):
            return
        connection = self._connect()
        if connection is None:
            return
        try:
            os.chmod(self.path, 0o600)
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany("INSERT OR REPLACE INTO sets VALUES (?, ?, ?)",
                                   ((i, sign, json.dumps(row)) for i, (sign, row) in rows.items()))
            connection.executemany("DELETE FROM sets WHERE id = ?", ((i,) for i in gone or ()))
            connection.execute("COMMIT")
        except (sqlite3.Error, OSError) as error:
            swallowed(f"updating the store's catalogue {self.path}", error)
        finally:
            connection.close()

    def record(self, set_store: "SetStore") -> None:
        """Catalogue ``set_store``'s row as its writer leaves it (called under its lock, after
        its last write)."""
        try:
            signed = signature(set_store.paths.folder)
            if signed is not None:
                self.update({set_store.id: (signed[0], list_row(set_store, running=False))})
        except StoreError as error:
            swallowed(f"cataloguing job set {set_store.id}", error)
        finally:
            set_store.close()


class Listing:
    """Every set's list row, newest first, from the catalogue where it is still true."""

    def __init__(self, store: "Store") -> None:
        self.store = store
        self.catalogue = Catalogue(store.root)
        self._fresh: dict[str, tuple[str, dict[str, Any]]] = {}
        self._gone: set[str] = set()

    def rows(self) -> Iterator[tuple[str, "dict[str, Any] | StoreError"]]:
        """``(set id, row)``, or the error that says why the set cannot be read."""
        ids = self.store.set_ids()
        cached = self.catalogue.rows()
        self._gone = set(cached) - set(ids)
        for set_id in ids:
            folder = self.store.root / set_id
            signed = signature(folder)
            known = cached.get(set_id)
            if signed is not None and known is not None and known[0] == signed[0] \
                    and not known[1].get("running"):
                yield set_id, known[1]
                continue
            yield set_id, self._read(set_id, signed)

    def _read(self, set_id: str, signed: tuple[str, int] | None) -> "dict[str, Any] | StoreError":
        opened = self.store.try_open(set_id)
        if isinstance(opened, StoreError):
            return opened
        try:
            row = list_row(opened)
        except StoreError as error:
            return error
        finally:
            opened.close()
        settled = signed is not None and signed[1] < time.time_ns() - int(RACY_SECONDS * 1e9)
        if settled and not row["running"] and signed is not None:
            self._fresh[set_id] = (signed[0], row)
        return row

    def save(self) -> None:
        """Catalogue the rows read (and drop the sets gone) since :meth:`rows` began."""
        from jobman.filesystems import check_writable_here

        fresh, gone, self._fresh, self._gone = self._fresh, self._gone, {}, set()
        if fresh or gone:
            try:
                check_writable_here(self.store.root)  # SQLite's locks may not hold there
            except StoreError as error:
                swallowed("cataloguing the sets listed", error)
                return
            self.catalogue.update(fresh, gone)


__all__ = ["Catalogue", "Listing", "list_row", "signature"]
