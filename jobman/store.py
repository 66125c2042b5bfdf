"""The store: one directory per job set, JSON files written atomically, no pickle.

Layout under the root (see :class:`jobman.paths.SetPaths`)::

    <set id>/set.json                  the task and plan (SetRecord), with a format version
    <set id>/chunks/000007.json        chunk 7's record (ChunkRecord)
    <set id>/results/000007.jsonl      chunk 7's per-circuit results, one JSON line each
    <set id>/results/000007.names.json chunk 7's circuit names, for lookup by name (written when
                                       the set is created where the input names its circuits
                                       cheaply, else with the chunk's results)
    <set id>/results/000007.memory.jsonl  shot memory, when kept
    <set id>/transpiled/000007.qpy     chunk 7's circuits as the backend runs them (e.g. ISA), QPY
    <set id>/transpiled/000007.index.json  their global circuit indices, in file order
    <set id>/lock                      held (flock) by the one process running the set

Every file is written to a temporary name and renamed into place, so a reader sees
either the old file or the new one, never a torn write. A set *is* its folder: its id is the
folder's name (a copied or moved set keeps the id it was created with in ``set.json``, as
:attr:`SetStore.recorded_id`). No link inside the store is ever followed (:mod:`jobman.fsio`),
folders are private (0700, files 0600), and what killed processes left behind is finished
or removed when the store is next opened (:mod:`jobman.leftovers`).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Protocol

from jobman import leftovers
from jobman.exceptions import DamagedSetError, SetNotFoundError, StoreError
from jobman.filesystems import check_writable_here
from jobman.fsio import (atomic_write, check_folder, link_refused, make_folder, read_json,
                         write_json)
from jobman.fsio import open_regular
from jobman.locks import hold_lock, lock_exclusive, lock_is_held
from jobman.paths import SET_ID_PATTERN, SetPaths, check_set_id, default_root
from jobman.records import FORMAT_VERSION, READABLE_FORMATS, SWEEP_FORMAT_VERSION, ChunkRecord, SetRecord
from jobman.validate import ShapeError, check_set_data

if TYPE_CHECKING:  # pragma: no cover
    from jobman.catalogue import Listing
    from jobman.chunk_digest import SetTotals

__all__ = ["Store", "SetStore", "atomic_write", "read_json", "write_json", "new_set_id"]

FORMAT_VARIABLE = "JOBMAN_STORE_FORMAT"


class SetData(Protocol):
    """What keeps a set's chunks and results: :class:`jobman.set_files.FileSetData` (format 1)
    or :class:`jobman.set_db.DbSetData` (format 2). :class:`SetStore` documents each method."""

    def chunk(self, index: int) -> ChunkRecord: ...
    def chunks(self) -> list[ChunkRecord]: ...
    def save_chunk(self, chunk: ChunkRecord, *, sync: bool = True) -> None: ...
    def write_results(self, chunk: int, lines: list[dict[str, Any]], names: list[str | None],
                      memory: list[list[str] | None] | None = None) -> None: ...
    def finish_chunk(self, record: ChunkRecord, lines: list[dict[str, Any]], names: list[str | None],
                     memory: list[list[str] | None] | None = None, *, sync: bool = True) -> None: ...
    def decode_line(self, chunk: int, index: int, raw: bytes) -> dict[str, Any]: ...
    def read_memory(self, chunk: int) -> list[list[str] | None] | None: ...
    def result_lines(self, chunk: int, memory: bool = False, expected: int | None = None
                     ) -> list[bytes] | None: ...
    def has_results(self, chunk: int) -> bool: ...
    def chunks_with_results(self) -> set[int]: ...
    def totals(self) -> "SetTotals | None": ...
    def read_names(self, chunk: int) -> list[str] | None: ...
    def fill_names(self, names: "NamesOf") -> int: ...
    def unnamed_chunks(self) -> list[int]: ...
    def find_names(self, name: str) -> list[int]: ...
    def find_name(self, name: str) -> int | None: ...
    def save_transpiled(self, chunk: int, circuits: dict[int, Any]) -> None: ...
    def load_transpiled(self, chunk: int) -> dict[int, Any]: ...
    def close(self) -> None: ...
    def chunk_location(self, index: int) -> str: ...
    def results_location(self, index: int) -> str: ...
    def integrity_problems(self) -> list[str]: ...


#: ``names(start, stop)``: the names of circuits ``[start, stop)``, or None where not known.
NamesOf = Callable[[int, int], "list[str] | None"]


def new_set_id(now: float | None = None) -> str:
    """A new id that sorts by creation time: ``20261121-094512-5073fa9`` (milliseconds, then random)."""
    import secrets

    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{stamp}-{int(now * 1000) % 1000:03d}{secrets.token_hex(2)}"


def new_set_format() -> int:
    """The store format of new sets: ``$JOBMAN_STORE_FORMAT`` (1 for a jobman older than
    format 2 to read them), else :data:`~jobman.records.FORMAT_VERSION`."""
    value = os.environ.get(FORMAT_VARIABLE, "").strip()
    if not value:
        return FORMAT_VERSION
    if value not in {str(v) for v in READABLE_FORMATS}:
        raise StoreError(f"{FORMAT_VARIABLE}={value}: use "
                         f"{' or '.join(map(str, READABLE_FORMATS))}")
    return int(value)


def damaged(path: Path, fault: str) -> DamagedSetError:
    """The one error for a file of a set that is not what jobman wrote."""
    return DamagedSetError(f"{path}: {fault}")


class Store:
    """All job sets under one root directory."""

    def __init__(self, root: "str | os.PathLike[str] | None" = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        self._staging: dict[str, Any] = {}  # set id -> the held lock of its staging folder
        self._tidied = False

    def _ensure_root(self) -> None:
        try:
            if not self.root.is_dir():
                self.root.parent.mkdir(parents=True, exist_ok=True)
                os.mkdir(self.root, 0o700)  # private: only the folder jobman creates, not its parents
                os.chmod(self.root, 0o700)
        except OSError as error:
            raise StoreError(f"cannot create store directory {self.root}: {error.strerror}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreError(f"store directory {self.root} is not writable")

    def tidy(self) -> list[Path]:
        """Finish or remove what killed processes left at the root (once per Store)."""
        if self._tidied:
            return []
        self._tidied = True
        return leftovers.tidy_root(self.root)

    def staging_folder(self, set_id: str) -> Path:
        """Where a new set is assembled (under its lock) before it appears under its id."""
        self._ensure_root()
        folder = self.root / f".{check_set_id(set_id)}{leftovers.CREATING}"
        if set_id not in self._staging:
            check_writable_here(self.root)
            make_folder(folder)
            held = hold_lock(folder / "lock", set_id)
            held.__enter__()
            self._staging[set_id] = held
        return folder

    def _release_staging(self, set_id: str) -> None:
        held = self._staging.pop(set_id, None)
        if held is not None:
            held.__exit__(None, None, None)

    def discard_staging(self, set_id: str) -> None:
        """Remove what a set that failed to start left in its staging folder."""
        import shutil

        self._release_staging(set_id)
        shutil.rmtree(self.root / f".{check_set_id(set_id)}{leftovers.CREATING}", ignore_errors=True)

    def create_set(self, record: SetRecord, chunks: list[ChunkRecord],
                   names: NamesOf | None = None) -> "SetStore":
        """Write a new job set with its chunk plan; return it. ``names(start, stop)`` gives the
        circuit names of each chunk where they are known before it runs (None: not known)."""
        from jobman.set_db import DB_NAME, SetDatabase

        paths = SetPaths(self.root, check_set_id(record.id))
        record.format_version = SWEEP_FORMAT_VERSION if record.sweep else new_set_format()
        try:
            tmp = self.staging_folder(record.id)
            if record.format_version == 1:
                from jobman.set_files import write_new

                write_new(SetPaths(self.root, tmp.name), chunks, names)
            else:
                SetDatabase.create(tmp / DB_NAME, chunks, names)
            write_json(tmp / "set.json", record.to_dict())
            os.replace(tmp, paths.folder)  # the set appears whole or not at all
        except OSError as error:
            raise StoreError(f"cannot create job set in {self.root}: {error.strerror}") from None
        except sqlite3.Error as error:
            raise StoreError(f"cannot create job set in {self.root}: {error}") from None
        self._release_staging(record.id)
        return SetStore.open(paths)

    def set_ids(self) -> list[str]:
        """Ids (folder names) of every job set, readable or not, newest first."""
        try:
            entries = os.listdir(self.root)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise StoreError(f"cannot read store directory {self.root}: {error.strerror}") from None
        self.tidy()
        ids = [e for e in entries if SET_ID_PATTERN.match(e) and self._is_set_entry(self.root / e)]
        return sorted(ids, reverse=True)

    @staticmethod
    def _is_set_entry(path: Path) -> bool:
        """A folder that holds a set (set.json or chunks/, even damaged), or a link in its place."""
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return False
        if stat.S_ISLNK(mode):
            return True
        return stat.S_ISDIR(mode) and any(os.path.lexists(os.path.join(path, part))
                                          for part in ("set.json", "chunks"))

    def resolve(self, id_or_prefix: str | None) -> str:
        """The full id for a prefix or a set name; the newest set when None."""
        ids = self.set_ids()
        if id_or_prefix is None:
            if not ids:
                raise SetNotFoundError(f"no job sets in {self.root}; run `jobman run INPUT` first")
            return ids[0]
        # A name may hold characters an id cannot ("circuits.qpy"): look it up, never use it as a path.
        is_id = SET_ID_PATTERN.match(id_or_prefix) is not None
        if is_id and id_or_prefix in ids:
            return id_or_prefix  # a whole id is that set, even when another id starts with it
        matches = [i for i in ids if i.startswith(id_or_prefix)] if is_id else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(matches[:5])
            raise SetNotFoundError(f"job set id {id_or_prefix!r} is ambiguous: matches {shown}")
        named = [i for i in ids if self._name_of(i) == id_or_prefix]
        if len(named) > 1:
            shown = ", ".join(named[:5]) + (", ..." if len(named) > 5 else "")
            raise SetNotFoundError(f"job set name {id_or_prefix!r} is ambiguous: {len(named)} sets have "
                                   f"it ({shown}); give an id")
        if named:
            return named[0]
        raise SetNotFoundError(f"no job set matches {id_or_prefix!r}; run `jobman list`")

    def _name_of(self, set_id: str) -> str | None:
        try:
            data = read_json(SetPaths(self.root, set_id).set_file)
        except (OSError, StoreError):
            return None
        return data.get("name") if isinstance(data, dict) else None

    def open_set(self, id_or_prefix: str | None = None) -> "SetStore":
        """Open a job set by id, prefix or name (newest when None)."""
        set_id = self.resolve(id_or_prefix)
        return SetStore.open(SetPaths(self.root, set_id))

    def try_open(self, set_id: str) -> "SetStore | StoreError":
        """The set in folder ``set_id`` opened, or the error that says why it cannot be."""
        try:
            return SetStore.open(SetPaths(self.root, set_id))
        except StoreError as error:
            return error

    def scan(self) -> Iterator[tuple[str, "SetStore | StoreError"]]:
        """Every set, newest first: opened, or the error that says why it cannot be."""
        for set_id in self.set_ids():
            yield set_id, self.try_open(set_id)

    def is_locked(self, set_id: str) -> bool:
        """Whether a live process holds the lock of the set in folder ``set_id``."""
        return lock_is_held(SetPaths(self.root, check_set_id(set_id)).lock_file)

    def listing(self) -> "Listing":
        """Every set's ``jobman list`` row, through the store's catalogue (:mod:`jobman.catalogue`)."""
        from jobman.catalogue import Listing

        return Listing(self)

    def list_sets(self) -> list["SetStore"]:
        """Every readable job set, newest first."""
        return [opened for _, opened in self.scan() if isinstance(opened, SetStore)]

    def delete_set(self, set_id: str) -> None:
        """Remove a job set's folder and everything in it, unless a live process holds its lock.

        A set folder that is a link loses the link only, never what it points to.
        """
        import shutil

        paths = SetPaths(self.root, check_set_id(set_id))
        check_writable_here(self.root)
        try:
            if paths.folder.is_symlink():
                paths.folder.unlink()
                return
            if paths.lock_file.is_symlink():  # no writer can hold a link: drop it, never its target
                paths.lock_file.unlink()
            trash = self.root / f".{set_id}{leftovers.DELETING}"
            with hold_lock(paths.lock_file, set_id):
                os.replace(paths.folder, trash)
                shutil.rmtree(trash, ignore_errors=True)
            from jobman.catalogue import Catalogue

            Catalogue(self.root).update({}, {set_id})
        except OSError as error:
            raise StoreError(f"cannot delete job set {set_id}: {error.strerror or error}") from None
        except StoreError as error:
            raise StoreError(f"cannot delete job set {set_id}: {error}") from None


class SetStore:
    """One job set on disk: its record, its chunk records and its results.

    Its :attr:`id` is its folder's name; every read checks the shape of what it reads and
    raises :class:`~jobman.exceptions.DamagedSetError` naming the file and the fault.
    """

    def __init__(self, paths: SetPaths, record: SetRecord) -> None:
        self.paths = paths
        self.record = record
        #: Where the chunks and results are: files (format 1) or set.db (format 2).
        self.data: SetData = _data_for(self)

    @classmethod
    def open(cls, paths: SetPaths) -> "SetStore":
        """Open the set in ``paths.folder``; refuse a link, a damaged or a newer set.json."""
        check_folder(paths.folder)
        for sub in (paths.chunks_folder, paths.results_folder, paths.transpiled_folder,
                    paths.folder / "inputs"):
            check_folder(sub, missing_ok=True)
        try:
            data = read_json(paths.set_file)
        except FileNotFoundError:
            raise damaged(paths.set_file, "missing (job set folder without its record)") from None
        except StoreError as error:
            raise DamagedSetError(str(error)) from None
        version = data.get("format_version") if isinstance(data, dict) else None
        if isinstance(data, dict) and version not in READABLE_FORMATS:
            raise StoreError(f"job set {paths.set_id} has store format {version}; this jobman "
                             f"reads formats {' and '.join(map(str, READABLE_FORMATS))}")
        set_store = cls(paths, cls._record(paths, data))
        leftovers.tidy_set(paths.folder)
        return set_store

    @staticmethod
    def _record(paths: SetPaths, data: Any) -> SetRecord:
        try:
            return SetRecord.from_dict(check_set_data(data))
        except ShapeError as error:
            raise damaged(paths.set_file, str(error)) from None

    @property
    def id(self) -> str:
        """The set's id: the name of its folder."""
        return self.paths.set_id

    @property
    def recorded_id(self) -> str:
        """The id the set was created with (differs from :attr:`id` for a copied or moved set)."""
        return self.record.id

    @property
    def is_copy(self) -> bool:
        """Whether the folder was copied or renamed from the set ``recorded_id``."""
        return self.record.id != self.paths.set_id

    def save_record(self) -> None:
        write_json(self.paths.set_file, self.record.to_dict())

    def reload_record(self) -> SetRecord:
        self.record = self._record(self.paths, read_json(self.paths.set_file))
        return self.record

    # chunks and results: kept by the set's format (set_files: 1, set_db: 2) ----------
    def chunk(self, index: int) -> ChunkRecord:
        """Chunk ``index``'s record, checked."""
        return self.data.chunk(index)

    def chunks(self) -> list[ChunkRecord]:
        """All chunk records, by index."""
        return self.data.chunks()

    def save_chunk(self, chunk: ChunkRecord, *, sync: bool = True) -> None:
        """Replace chunk ``chunk.index``'s record (on disk before returning when ``sync``)."""
        self.data.save_chunk(chunk, sync=sync)

    def write_results(self, chunk: int, lines: list[dict[str, Any]], names: list[str | None],
                      memory: list[list[str] | None] | None = None) -> None:
        """Store chunk ``chunk``'s per-circuit results (replacing earlier ones), all at once."""
        self.data.write_results(chunk, lines, names, memory)

    def finish_chunk(self, record: ChunkRecord, lines: list[dict[str, Any]], names: list[str | None],
                     memory: list[list[str] | None] | None = None, *, sync: bool = True) -> None:
        """Store a chunk's results and its record together: format 2 in one transaction (both
        or neither), format 1 results first, then the record (a record never claims results
        that are not there)."""
        self.data.finish_chunk(record, lines, names, memory, sync=sync)

    def read_results(self, chunk: int) -> list[dict[str, Any]] | None:
        """Chunk ``chunk``'s result lines, checked, or None when it has none yet."""
        start, stop = self.chunk_range(chunk)
        lines = self.result_lines(chunk, expected=stop - start)
        if lines is None:
            return None
        return [self.decode_line(chunk, start + pos, raw) for pos, raw in enumerate(lines)]

    def chunk_range(self, chunk: int) -> tuple[int, int]:
        """Chunk ``chunk``'s circuits ``[start, stop)`` by the set's plan."""
        start = chunk * self.record.chunk_size
        return start, min(start + self.record.chunk_size, self.record.total)

    def decode_line(self, chunk: int, index: int, raw: bytes) -> dict[str, Any]:
        """Circuit ``index``'s result line of chunk ``chunk``, checked."""
        return self.data.decode_line(chunk, index, raw)

    def read_memory(self, chunk: int) -> list[list[str] | None] | None:
        """Chunk ``chunk``'s shot memory per circuit, or None when none is kept."""
        return self.data.read_memory(chunk)

    def result_lines(self, chunk: int, memory: bool = False, expected: int | None = None
                     ) -> list[bytes] | None:
        """Chunk ``chunk``'s result (or shot memory) lines, undecoded, so that a reader decodes
        only those it needs; None when there are none yet. With ``expected``, another number
        of lines (truncated) is a DamagedSetError."""
        return self.data.result_lines(chunk, memory, expected)

    def has_results(self, chunk: int) -> bool:
        """Whether chunk ``chunk``'s results are stored (cheap)."""
        return self.data.has_results(chunk)

    def chunks_with_results(self) -> set[int]:
        """Every chunk whose results are stored (one read for the whole set)."""
        return self.data.chunks_with_results()

    def totals(self) -> "SetTotals | None":
        """The chunks added up without reading every record (format 2), or None (format 1)."""
        return self.data.totals()

    def read_names(self, chunk: int) -> list[str] | None:
        """Chunk ``chunk``'s circuit names, or None when not recorded."""
        return self.data.read_names(chunk)

    def fill_names(self, names: NamesOf) -> int:
        """Record the names of every chunk that has none (a set made before names were
        recorded at creation, or by an input whose names needed its circuits), where
        ``names(start, stop)`` knows them; how many chunks were named."""
        return self.data.fill_names(names)

    def unnamed_chunks(self) -> list[int]:
        """Chunks whose circuit names are not recorded yet: their circuits cannot be found by
        name until they run (or ``jobman resume`` records the names)."""
        return self.data.unnamed_chunks()

    def find_names(self, name: str) -> list[int]:
        """The global index of every circuit called ``name``."""
        return self.data.find_names(name)

    def find_name(self, name: str) -> int | None:
        """The global index of the first circuit called ``name``."""
        return self.data.find_name(name)

    def save_transpiled(self, chunk: int, circuits: dict[int, Any]) -> None:
        """Store chunk ``chunk``'s prepared circuits by global index (QPY, replacing earlier ones)."""
        self.data.save_transpiled(chunk, circuits)

    def load_transpiled(self, chunk: int) -> dict[int, Any]:
        """Chunk ``chunk``'s stored prepared circuits by global index; empty when none (or unusable)."""
        return self.data.load_transpiled(chunk)

    def close(self) -> None:
        """Let go of what the set holds open (format 2's database connections)."""
        self.data.close()

    def chunk_location(self, index: int) -> str:
        """Where chunk ``index``'s record is kept, for messages."""
        return self.data.chunk_location(index)

    def results_location(self, index: int) -> str:
        """Where chunk ``index``'s results are kept, for messages."""
        return self.data.results_location(index)

    def integrity_problems(self) -> list[str]:
        """What the storage's own check finds wrong (SQLite's integrity_check for format 2)."""
        return self.data.integrity_problems()

    # the writer's lock ---------------------------------------------------------------
    @contextmanager
    def lock(self, held: "IO[str] | int | None" = None) -> Iterator[None]:
        """Hold the set's writer lock; refuse if another live process holds it.

        ``held`` is the lock already taken: a file from :meth:`acquire_lock` (given to another
        thread) or a descriptor of it inherited from the process that started this one
        (``jobman run --detach``). It is released when the block ends.
        """
        handle = self.acquire_lock() if held is None else self.take_over_lock(held)
        try:
            yield
        finally:
            try:
                self.close()  # the writer's connection: the set is at rest again
                from jobman.catalogue import Catalogue

                Catalogue(self.paths.root).record(self)  # `jobman list` need not read it again
            finally:
                handle.close()  # closing releases the lock; the kernel does it too if we die

    def acquire_lock(self) -> "IO[str]":
        """Take the writer lock and return its open file: the lock lasts until it is closed."""
        check_writable_here(self.paths.root)
        try:
            handle = os.fdopen(open_regular(self.paths.lock_file, os.O_RDWR | os.O_CREAT), "a+")
        except (OSError, StoreError) as error:
            raise StoreError(f"cannot open the lock of job set {self.id}: "
                             f"{getattr(error, 'strerror', None) or error}") from None
        try:
            self._flock(handle)
        except BaseException:
            handle.close()
            raise
        return handle

    def take_over_lock(self, held: "IO[str] | int") -> "IO[str]":
        """The lock taken by :meth:`acquire_lock` here or in the process that started this one."""
        try:
            handle = os.fdopen(held, "a+") if isinstance(held, int) else held
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(self.paths.lock_file))
        except OSError as error:
            raise StoreError(f"cannot take over the lock of job set {self.id}: "
                             f"{error.strerror or error}") from None
        if not same:
            handle.close()
            raise StoreError(f"the lock handed over is not the lock of job set {self.id}")
        os.set_inheritable(handle.fileno(), False)
        self._flock(handle)  # already ours: confirms it, and records this process's pid
        return handle

    def _flock(self, handle: "IO[str]") -> None:
        lock_exclusive(handle, self.id)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()

    # cancel requests ------------------------------------------------------------------
    def request_cancel(self) -> None:
        """Ask the process that runs the set to cancel it (``jobman cancel`` while it is locked)."""
        atomic_write(self.paths.cancel_file, b"cancel\n")

    def cancel_requested(self) -> bool:
        """Whether a cancel request waits for the process that runs the set."""
        return self.paths.cancel_file.exists()

    def clear_cancel_request(self) -> None:
        """Drop the set's cancel request, if any."""
        self.paths.cancel_file.unlink(missing_ok=True)

    def is_locked(self) -> bool:
        """Whether some process holds the writer lock now (a link there is refused)."""
        if self.paths.lock_file.is_symlink():
            raise DamagedSetError(str(link_refused(self.paths.lock_file)))
        return lock_is_held(self.paths.lock_file)


def _data_for(set_store: SetStore) -> "SetData":
    if set_store.record.format_version == 1:
        from jobman.set_files import FileSetData

        return FileSetData(set_store)
    from jobman.set_db import DbSetData

    return DbSetData(set_store)
