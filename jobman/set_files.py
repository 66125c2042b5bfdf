"""Store format 1: a set's chunk records and results as JSON files (sets made before format 2).

Layout of a set folder in this format (see :class:`jobman.paths.SetPaths`)::

    chunks/000007.json        chunk 7's record (ChunkRecord)
    results/000007.jsonl      chunk 7's per-circuit results, one JSON line each
    results/000007.names.json chunk 7's circuit names, for lookup by name
    results/000007.memory.jsonl  shot memory, when kept
    transpiled/000007.qpy     chunk 7's circuits as the backend runs them, QPY
    transpiled/000007.index.json  their global circuit indices, in file order

Every file is written to a temporary name and renamed into place, so a reader sees either
the old file or the new one, never a torn write; the results file of a chunk is written last.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from jobman.exceptions import DamagedSetError, StoreError
from jobman.fsio import atomic_write, make_folder, read_bytes, read_json, write_json
from jobman.records import ChunkRecord
from jobman.validate import ShapeError, check_chunk_data, check_line

if TYPE_CHECKING:  # pragma: no cover
    from jobman.store import NamesOf, SetStore


class FileSetData:
    """The chunks and results of a format-1 set, for its :class:`~jobman.store.SetStore`."""

    def __init__(self, owner: "SetStore") -> None:
        self.owner = owner
        self.paths = owner.paths

    def close(self) -> None:
        """Nothing is held open between calls."""

    def chunk_location(self, index: int) -> str:
        return str(self.paths.chunk_file(index))

    def results_location(self, index: int) -> str:
        return str(self.paths.results_file(index))

    def integrity_problems(self) -> list[str]:
        return []  # JSON files have no check of their own: jobman check reads every one

    # chunks -------------------------------------------------------------------------
    def chunk(self, index: int) -> ChunkRecord:
        path = self.paths.chunk_file(index)
        start, stop = self.owner.chunk_range(index)
        try:
            data = read_json(path)
        except FileNotFoundError:
            raise damaged(path, f"missing (the set has {self.owner.record.num_chunks} chunks)") from None
        except StoreError as error:
            raise DamagedSetError(str(error)) from None
        try:
            return ChunkRecord.from_dict(check_chunk_data(data, index, start, stop))
        except ShapeError as error:
            raise damaged(path, str(error)) from None

    def chunks(self) -> list[ChunkRecord]:
        """All chunk records, by index."""
        return [self.chunk(index) for index in range(self.owner.record.num_chunks)]

    def save_chunk(self, chunk: ChunkRecord, *, sync: bool = True) -> None:
        write_json(self.paths.chunk_file(chunk.index), chunk.to_dict(), sync=sync)

    # results ------------------------------------------------------------------------
    def write_results(self, chunk: int, lines: list[dict[str, Any]], names: list[str | None],
                      memory: list[list[str] | None] | None = None) -> None:
        """Store chunk ``chunk``'s per-circuit results (replacing earlier ones)."""
        if memory is not None and any(m is not None for m in memory):
            atomic_write(self.paths.memory_file(chunk), _jsonl(memory))
        atomic_write(self.paths.names_file(chunk), json.dumps(names).encode())
        atomic_write(self.paths.results_file(chunk), _jsonl(lines))  # last: it makes the chunk's results

    def finish_chunk(self, record: ChunkRecord, lines: list[dict[str, Any]], names: list[str | None],
                     memory: list[list[str] | None] | None = None, *, sync: bool = True) -> None:
        self.write_results(record.index, lines, names, memory)
        self.save_chunk(record, sync=sync)

    def decode_line(self, chunk: int, index: int, raw: bytes) -> dict[str, Any]:
        """Circuit ``index``'s result line of chunk ``chunk``, checked."""
        path = self.paths.results_file(chunk)
        try:
            return check_line(json.loads(raw), index)
        except ValueError as error:  # ShapeError, or not JSON
            raise damaged(path, f"line {index - chunk * self.owner.record.chunk_size + 1}: {error}") from None

    def read_memory(self, chunk: int) -> list[list[str] | None] | None:
        lines = self.result_lines(chunk, memory=True)
        if lines is None:
            return None
        try:
            return [json.loads(line) for line in lines]
        except ValueError as error:
            raise damaged(self.paths.memory_file(chunk), f"not valid JSON Lines ({error})") from None

    def result_lines(self, chunk: int, memory: bool = False, expected: int | None = None
                     ) -> list[bytes] | None:
        """Chunk ``chunk``'s result (or shot memory) lines, undecoded, so that a reader decodes
        only those it needs; None when there are none yet. With ``expected``, a file with
        another number of lines (truncated) is a DamagedSetError."""
        path = self.paths.memory_file(chunk) if memory else self.paths.results_file(chunk)
        try:
            lines = read_bytes(path).splitlines()
        except FileNotFoundError:
            return None
        except StoreError as error:
            raise DamagedSetError(str(error)) from None
        if expected is not None and len(lines) != expected:
            raise damaged(path, f"has {len(lines)} result lines for the chunk's {expected} circuits "
                                "(truncated or damaged)")
        return lines

    def has_results(self, chunk: int) -> bool:
        """Whether chunk ``chunk``'s results file exists (cheap: no read)."""
        return os.path.lexists(self.paths.results_file(chunk))

    def totals(self) -> None:
        """None: a format-1 set is added up from its records (see :func:`jobman.summary.summarize`)."""
        return None

    def chunks_with_results(self) -> set[int]:
        """Every chunk whose results file exists (one listing of the results folder)."""
        try:
            names = os.listdir(self.paths.results_folder)
        except FileNotFoundError:
            return set()
        except OSError as error:
            raise StoreError(f"cannot read {self.paths.results_folder}: {error.strerror}") from None
        return {int(name[:-6]) for name in names if name.endswith(".jsonl") and name[:-6].isdigit()
                and not name.startswith(".")}

    def read_names(self, chunk: int) -> list[str] | None:
        try:
            names = read_json(self.paths.names_file(chunk))
        except FileNotFoundError:
            return None
        except StoreError as error:
            raise DamagedSetError(str(error)) from None
        if not isinstance(names, list):
            raise damaged(self.paths.names_file(chunk), "must be a JSON list of names")
        return names

    def fill_names(self, names: NamesOf) -> int:
        """Write the names file of every chunk that has none (a set made before names were
        written at creation, or by an input whose names needed its circuits), where
        ``names(start, stop)`` knows them; how many were written."""
        written = 0
        for chunk in range(self.owner.record.num_chunks):
            if os.path.lexists(self.paths.names_file(chunk)):
                continue
            start, stop = self.owner.chunk_range(chunk)
            chunk_names = names(start, stop)
            if chunk_names is not None:
                write_json(self.paths.names_file(chunk), chunk_names, sync=False)
                written += 1
        return written

    def unnamed_chunks(self) -> list[int]:
        """Chunks whose circuit names are not recorded yet (no names file): their circuits
        cannot be found by name until they run (or ``jobman resume`` records the names)."""
        return [c for c in range(self.owner.record.num_chunks) if not os.path.lexists(self.paths.names_file(c))]

    def find_names(self, name: str) -> list[int]:
        """The global index of every circuit called ``name``, scanning only names files."""
        needle, found = json.dumps(name).encode(), []
        for chunk in range(self.owner.record.num_chunks):
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
        for chunk in range(self.owner.record.num_chunks):
            try:
                data = read_bytes(self.paths.names_file(chunk))
            except FileNotFoundError:
                continue
            if needle in data:
                names = self.read_names(chunk) or []
                if name in names:
                    return self.chunk(chunk).start + names.index(name)
        return None

    # transpiled circuits ------------------------------------------------------------
    def save_transpiled(self, chunk: int, circuits: dict[int, Any]) -> None:
        """Store chunk ``chunk``'s prepared circuits by global index (QPY, replacing earlier ones)."""
        from jobman.qpy_codec import dumps

        indices = sorted(circuits)
        data = dumps([circuits[i] for i in indices])  # delays keep their units
        make_folder(self.paths.transpiled_folder)
        atomic_write(self.paths.transpiled_file(chunk), data, sync=False)
        write_json(self.paths.transpiled_index_file(chunk), indices)  # last: it makes the file valid

    def load_transpiled(self, chunk: int) -> dict[int, Any]:
        """Chunk ``chunk``'s stored prepared circuits by global index; empty when none (or unusable)."""
        from jobman.qpy_codec import loads

        try:
            indices = read_json(self.paths.transpiled_index_file(chunk))
            data = read_bytes(self.paths.transpiled_file(chunk))
            circuits = loads(data)
        except Exception:  # none yet, or torn or foreign: prepare again rather than fail
            return {}
        if not isinstance(indices, list) or len(indices) != len(circuits):
            return {}
        return dict(zip((int(i) for i in indices), circuits))


def write_new(staged: Any, chunks: list[ChunkRecord], names: "NamesOf | None") -> None:
    """A new set's chunk files, in its staging folder's ``SetPaths``."""
    make_folder(staged.chunks_folder)
    make_folder(staged.results_folder)
    for chunk in chunks:
        write_json(staged.chunk_file(chunk.index), chunk.to_dict(), sync=False)
        chunk_names = names(chunk.start, chunk.stop) if names is not None else None
        if chunk_names is not None:
            write_json(staged.names_file(chunk.index), chunk_names, sync=False)


def damaged(path: Any, fault: str) -> DamagedSetError:
    """The one error for a file of a set that is not what jobman wrote."""
    return DamagedSetError(f"{path}: {fault}")


def _jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode()
