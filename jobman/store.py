"""The store: one directory per job set, JSON files written atomically, no pickle.

Layout under the root (see :class:`jobman.paths.SetPaths`)::

    <set id>/set.json                  the task and plan (SetRecord), with a format version
    <set id>/chunks/000007.json        chunk 7's record (ChunkRecord)
    <set id>/results/000007.jsonl      chunk 7's per-circuit results, one JSON line each
    <set id>/results/000007.names.json chunk 7's circuit names, for lookup by name
    <set id>/results/000007.memory.jsonl  shot memory, when kept
    <set id>/transpiled/000007.qpy     chunk 7's circuits as the backend runs them (e.g. ISA), QPY
    <set id>/transpiled/000007.index.json  their global circuit indices, in file order
    <set id>/lock                      held (flock) by the one process running the set

Every file is written to a temporary name and renamed into place, so a reader sees
either the old file or the new one, never a torn write.
"""

from __future__ import annotations

import errno
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from jobman.exceptions import SetLockedError, SetNotFoundError, StoreError
from jobman.paths import SET_ID_PATTERN, SetPaths, check_set_id, default_root
from jobman.records import FORMAT_VERSION, ChunkRecord, SetRecord


def atomic_write(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` so readers never see a partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
        if sync:
            _fsync_dir(path.parent)  # make the rename itself survive a power loss
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {error.strerror or error}") from None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, data: Any, *, sync: bool = True) -> None:
    """Atomically write ``data`` as JSON."""
    atomic_write(path, json.dumps(data, separators=(",", ":")).encode(), sync=sync)


def read_json(path: Path) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as error:
        raise StoreError(f"cannot read {path}: {error}") from None


def new_set_id(now: float | None = None) -> str:
    """A new id that sorts by creation time: ``20261121-094512-5073fa9`` (milliseconds, then random)."""
    import secrets

    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{stamp}-{int(now * 1000) % 1000:03d}{secrets.token_hex(2)}"


class Store:
    """All job sets under one root directory."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()

    def _ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create store directory {self.root}: {error.strerror}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreError(f"store directory {self.root} is not writable")

    def staging_folder(self, set_id: str) -> Path:
        """Where a new set is assembled before it appears under its id."""
        self._ensure_root()
        return self.root / f".{check_set_id(set_id)}.creating"

    def discard_staging(self, set_id: str) -> None:
        """Remove what a set that failed to start left in its staging folder."""
        import shutil

        shutil.rmtree(self.root / f".{check_set_id(set_id)}.creating", ignore_errors=True)

    def create_set(self, record: SetRecord, chunks: list[ChunkRecord]) -> "SetStore":
        """Write a new job set with its chunk plan; return it."""
        paths = SetPaths(self.root, check_set_id(record.id))
        try:
            tmp = self.staging_folder(record.id)
            for folder in (tmp, tmp / "chunks", tmp / "results"):
                folder.mkdir(parents=True, exist_ok=True)
            staged = SetPaths(self.root, tmp.name)
            for chunk in chunks:
                write_json(staged.chunk_file(chunk.index), chunk.to_dict(), sync=False)
            write_json(staged.set_file, record.to_dict())
            os.replace(tmp, paths.folder)  # the set appears whole or not at all
        except OSError as error:
            raise StoreError(f"cannot create job set in {self.root}: {error.strerror}") from None
        return SetStore(paths, record)

    def set_ids(self) -> list[str]:
        """Ids of every job set, newest first."""
        try:
            entries = os.listdir(self.root)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise StoreError(f"cannot read store directory {self.root}: {error.strerror}") from None
        ids = [e for e in entries if not e.startswith(".") and (self.root / e / "set.json").is_file()]
        return sorted(ids, reverse=True)

    def resolve(self, id_or_prefix: str | None) -> str:
        """The full id for a prefix or a set name; the newest set when None."""
        ids = self.set_ids()
        if id_or_prefix is None:
            if not ids:
                raise SetNotFoundError(f"no job sets in {self.root}; run `jobman run INPUT` first")
            return ids[0]
        # A name may hold characters an id cannot ("circuits.qpy"): look it up, never use it as a path.
        is_id = SET_ID_PATTERN.match(id_or_prefix) is not None
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
            return read_json(SetPaths(self.root, set_id).set_file).get("name")
        except (OSError, StoreError):
            return None

    def open_set(self, id_or_prefix: str | None = None) -> "SetStore":
        """Open a job set by id, prefix or name (newest when None)."""
        set_id = self.resolve(id_or_prefix)
        return SetStore.open(SetPaths(self.root, set_id))

    def list_sets(self) -> list["SetStore"]:
        """Every readable job set, newest first."""
        sets = []
        for set_id in self.set_ids():
            try:
                sets.append(SetStore.open(SetPaths(self.root, set_id)))
            except StoreError:
                continue
        return sets

    def delete_set(self, set_id: str) -> None:
        """Remove a job set and everything stored for it."""
        import shutil

        paths = SetPaths(self.root, check_set_id(set_id))
        trash = self.root / f".{set_id}.deleting"
        try:
            os.replace(paths.folder, trash)
        except OSError as error:
            raise StoreError(f"cannot delete job set {set_id}: {error.strerror or error}") from None
        shutil.rmtree(trash, ignore_errors=True)


class SetStore:
    """One job set on disk: its record, its chunk records and its results."""

    def __init__(self, paths: SetPaths, record: SetRecord) -> None:
        self.paths = paths
        self.record = record

    @classmethod
    def open(cls, paths: SetPaths) -> "SetStore":
        try:
            data = read_json(paths.set_file)
        except FileNotFoundError:
            raise StoreError(f"job set {paths.set_id} has no set.json") from None
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise StoreError(f"job set {paths.set_id} has store format {version}; "
                             f"this jobman reads format {FORMAT_VERSION}")
        return cls(paths, SetRecord.from_dict(data))

    @property
    def id(self) -> str:
        return self.record.id

    def save_record(self) -> None:
        write_json(self.paths.set_file, self.record.to_dict())

    def reload_record(self) -> SetRecord:
        self.record = SetRecord.from_dict(read_json(self.paths.set_file))
        return self.record

    # chunks -------------------------------------------------------------------------
    def chunk(self, index: int) -> ChunkRecord:
        try:
            return ChunkRecord.from_dict(read_json(self.paths.chunk_file(index)))
        except FileNotFoundError:
            raise StoreError(f"job set {self.id} has no chunk {index}") from None

    def chunks(self) -> list[ChunkRecord]:
        """All chunk records, by index."""
        return [self.chunk(index) for index in range(self.record.num_chunks)]

    def save_chunk(self, chunk: ChunkRecord, *, sync: bool = True) -> None:
        write_json(self.paths.chunk_file(chunk.index), chunk.to_dict(), sync=sync)

    # results ------------------------------------------------------------------------
    def write_results(self, chunk: int, lines: list[dict[str, Any]], names: list[str],
                      memory: list[list[str] | None] | None = None) -> None:
        """Store chunk ``chunk``'s per-circuit results (replacing earlier ones)."""
        if memory is not None and any(m is not None for m in memory):
            atomic_write(self.paths.memory_file(chunk), _jsonl(memory))
        atomic_write(self.paths.names_file(chunk), json.dumps(names).encode())
        atomic_write(self.paths.results_file(chunk), _jsonl(lines))  # last: it makes the chunk's results

    def read_results(self, chunk: int) -> list[dict[str, Any]] | None:
        """Chunk ``chunk``'s result lines, or None when it has none yet."""
        lines = self.result_lines(chunk)
        return None if lines is None else [json.loads(line) for line in lines]

    def read_memory(self, chunk: int) -> list[list[str] | None] | None:
        lines = self.result_lines(chunk, memory=True)
        return None if lines is None else [json.loads(line) for line in lines]

    def result_lines(self, chunk: int, memory: bool = False) -> list[bytes] | None:
        """Chunk ``chunk``'s result (or shot memory) lines, undecoded, so that a reader decodes
        only those it needs; None when there are none yet."""
        try:
            with open(self.paths.memory_file(chunk) if memory else self.paths.results_file(chunk),
                      "rb") as handle:
                return handle.read().splitlines()
        except FileNotFoundError:
            return None

    def read_names(self, chunk: int) -> list[str] | None:
        try:
            return read_json(self.paths.names_file(chunk))
        except FileNotFoundError:
            return None

    def find_names(self, name: str) -> list[int]:
        """The global index of every circuit called ``name``, scanning only names files."""
        needle, found = json.dumps(name).encode(), []
        for chunk in range(self.record.num_chunks):
            try:
                data = self.paths.names_file(chunk).read_bytes()
            except FileNotFoundError:
                continue
            if needle in data:
                start = self.chunk(chunk).start
                found += [start + pos for pos, item in enumerate(json.loads(data)) if item == name]
        return found

    def find_name(self, name: str) -> int | None:
        """The global index of the first circuit called ``name``, scanning only names files."""
        needle = json.dumps(name).encode()
        for chunk in range(self.record.num_chunks):
            try:
                data = self.paths.names_file(chunk).read_bytes()
            except FileNotFoundError:
                continue
            if needle in data:
                names = json.loads(data)
                if name in names:
                    return self.chunk(chunk).start + names.index(name)
        return None

    # transpiled circuits ------------------------------------------------------------
    def save_transpiled(self, chunk: int, circuits: dict[int, Any]) -> None:
        """Store chunk ``chunk``'s prepared circuits by global index (QPY, replacing earlier ones)."""
        from jobman.qpy_codec import dumps

        indices = sorted(circuits)
        data = dumps([circuits[i] for i in indices])  # delays keep their units
        try:
            self.paths.transpiled_folder.mkdir(exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create {self.paths.transpiled_folder}: {error.strerror}") from None
        atomic_write(self.paths.transpiled_file(chunk), data, sync=False)
        write_json(self.paths.transpiled_index_file(chunk), indices)  # last: it makes the file valid

    def load_transpiled(self, chunk: int) -> dict[int, Any]:
        """Chunk ``chunk``'s stored prepared circuits by global index; empty when none (or unusable)."""
        from jobman.qpy_codec import loads

        try:
            indices = read_json(self.paths.transpiled_index_file(chunk))
            data = self.paths.transpiled_file(chunk).read_bytes()
            circuits = loads(data)
        except Exception:  # none yet, or torn or foreign: prepare again rather than fail
            return {}
        if not isinstance(indices, list) or len(indices) != len(circuits):
            return {}
        return dict(zip((int(i) for i in indices), circuits))

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
            handle.close()  # closing releases the lock; the kernel does it too if we die

    def acquire_lock(self) -> "IO[str]":
        """Take the writer lock and return its open file: the lock lasts until it is closed."""
        try:
            handle = open(self.paths.lock_file, "a+")
        except OSError as error:
            raise StoreError(f"cannot open the lock of job set {self.id}: "
                             f"{error.strerror or error}") from None
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
        import fcntl

        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SetLockedError(f"job set {self.id} is being run by another process "
                                     f"(see `jobman status {self.id}`)") from None
            raise StoreError(f"cannot lock job set {self.id}: {error.strerror or error}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()

    def is_locked(self) -> bool:
        """Whether some process holds the writer lock now."""
        import fcntl

        try:
            handle = open(self.paths.lock_file, "a+")
        except OSError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            return False


def _jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode()
