"""The merged result of a job set, queryable by global circuit index or name.

Reading one circuit reads only its own chunk's files, so a lookup costs the same on a
set of a thousand circuits or a million. This module never imports qiskit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection, Iterator, Sequence

from jobman.exceptions import CircuitIndexError, JobmanError
from jobman.records import ChunkRecord
from jobman.status import JobStatus
from jobman.store import SetStore

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    from qiskit.primitives import PrimitiveResult
    from qiskit.result import Result


def hex_to_bits(key: str, num_clbits: int, creg_sizes: Sequence[int] | None = None) -> str:
    """A hex outcome as Qiskit's ``Result.get_counts()`` writes it.

    ``"0x5"`` over 4 clbits is ``"0101"`` (clbit 0 rightmost). With register sizes (those of
    Aer's result header, in the circuit's order) the string is cut as Qiskit cuts it: from the
    left, one piece per register, last register first, joined by spaces, so registers of 2
    and 1 bits give ``"1 01"``. Like Qiskit, this reads the pieces by size alone: clbits that
    belong to no register next to ones that do are left out, overlapping registers repeat bits.
    """
    bits = format(int(key, 16), f"0{num_clbits}b" if num_clbits else "b")
    if not creg_sizes or not num_clbits:
        return bits
    pieces, at = [], 0
    for size in reversed(creg_sizes):
        pieces.append(bits[at:at + size])
        at += size
    return " ".join(pieces)


def format_counts(counts: dict[str, int], num_clbits: int,
                  creg_sizes: Sequence[int] | None = None) -> dict[str, int]:
    """Hex-keyed counts with keys as :func:`hex_to_bits` writes them. Where two outcomes get
    one key (clbits outside every register), their counts add up: no shot is lost."""
    formatted: dict[str, int] = {}
    for key, value in counts.items():
        bits = hex_to_bits(key, num_clbits, creg_sizes)
        formatted[bits] = formatted.get(bits, 0) + value
    return formatted


@dataclass
class CircuitResult:
    """One circuit's outcome: status, counts as bitstrings, error reason, shot memory."""

    index: int
    name: str | None
    status: JobStatus
    counts: dict[str, int] | None = None
    error: str | None = None
    num_clbits: int = 0
    memory: list[str] | None = None
    creg_sizes: list[int] | None = None
    metadata: dict[str, Any] | None = None  # the circuit's QuantumCircuit.metadata
    #: A point of an estimator PUB: the exact value of each observable of its PUB (flat) and
    #: its std (see :mod:`jobman.pub_data` for the PUB's broadcast arrays); else None.
    evs: list[float] | None = None
    stds: list[float] | None = None

    def to_dict(self, memory: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "name": self.name, "status": self.status.value,
                                "counts": self.counts, "error": self.error, "metadata": self.metadata}
        if memory:
            data["memory"] = self.memory
        if self.evs is not None:
            data.update(evs=self.evs, stds=self.stds)
        return data


class ManagedResult:
    """Every circuit's result of a job set, merged across chunks.

    ``result.get_counts(42)``, ``result.get_counts("bell")``, ``len(result)``,
    ``for circuit in result: ...``.
    """

    def __init__(self, set_store: SetStore) -> None:
        self._set = set_store
        self._cache: dict[int, _Chunk] = {}

    def __len__(self) -> int:
        return self._set.record.total

    def __iter__(self) -> Iterator[CircuitResult]:
        return self.circuits()

    def circuits(self, memory: bool = False) -> Iterator[CircuitResult]:
        """Every circuit in index order, one chunk in memory at a time; with shot memory if asked."""
        for chunk in range(self._set.record.num_chunks):
            record = self._set.chunk(chunk)
            lines = self._set.read_results(chunk)
            if lines is not None and len(lines) != record.size:
                lines = None
            shots = self._set.read_memory(chunk) if memory and lines else None
            running = _running(record)
            names = self._planned_names(record) if lines is None else None
            for index in range(record.start, record.stop):
                pos = index - record.start
                result = _build(index, record, lines[pos] if lines else None, running, self._set.id,
                                names[pos] if names else None)
                if shots and result.counts is not None and shots[pos] is not None:
                    result.memory = [hex_to_bits(key, result.num_clbits, result.creg_sizes)
                                     for key in shots[pos]]
                yield result

    def to_primitive_result(self) -> "PrimitiveResult":
        """Every circuit as ``SamplerV2`` returns it: a ``PrimitiveResult`` of ``SamplerPubResult``
        with a ``BitArray`` per classical register (imports qiskit; see :mod:`jobman.qiskit_types`);
        for a sweep, one ``SamplerPubResult`` per PUB, in the PUB's shape."""
        from jobman.qiskit_types import to_primitive_result

        return to_primitive_result(self._set)

    def to_qiskit_result(self) -> "Result":
        """Every circuit as one ``qiskit.result.Result``, formatted as Aer's (imports qiskit)."""
        from jobman.qiskit_types import to_qiskit_result

        return to_qiskit_result(self._set)

    def to_pandas(self) -> "pandas.DataFrame":
        """Every circuit's outcomes as a DataFrame: a row per circuit and outcome, columns
        ``index, name, status, outcome, count, error`` (an estimator task's: a row per point and
        observable, ``index, name, status, observable, ev, std, error``; needs pandas and
        pyarrow), built a chunk at a time (see :mod:`jobman.tabular`)."""
        from jobman.tabular import to_pandas

        return to_pandas(self.circuits(), estimates=self._set.record.is_estimator_task)

    @property
    def job_set_id(self) -> str:
        return self._set.id

    def index_of(self, key: int | str) -> int:
        """The global index of a circuit given by index or name."""
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise CircuitIndexError(f"circuit key must be an index or a name, not {key!r}")
        if isinstance(key, str):
            index = self._set.find_name(key)
            if index is None:
                raise CircuitIndexError(f"no circuit named {key!r} in job set {self._set.id}")
            return index
        if not 0 <= key < len(self):
            raise CircuitIndexError(f"circuit index {key} is out of range: "
                                    f"job set {self._set.id} has circuits 0-{len(self) - 1}")
        return key

    def circuit(self, key: int | str, memory: bool = False) -> CircuitResult:
        """The full result of one circuit."""
        index = self.index_of(key)
        stored = self._chunk(index // self._set.record.chunk_size)
        pos = index - stored.record.start
        line = self._set.decode_line(stored.record.index, index, stored.lines[pos]) if stored.lines else None
        names = self._planned_names(stored.record) if line is None else None
        result = _build(index, stored.record, line, stored.running, self._set.id, names[pos] if names else None)
        if memory and result.counts is not None:
            if stored.memory is None:
                stored.memory = self._set.result_lines(stored.record.index, memory=True) or []
            row = json.loads(stored.memory[pos]) if stored.memory else None
            if row is not None:
                result.memory = [hex_to_bits(key, result.num_clbits, result.creg_sizes) for key in row]
        return result

    def get_counts(self, key: int | str) -> dict[str, int]:
        """Counts of one circuit as ``{bitstring: count}``; raises if it has no result."""
        result = self.circuit(key)
        if result.counts is None:
            raise JobmanError(_no_result(result))
        if result.evs is not None:
            raise JobmanError(f"circuit {result.index} is a point of an estimator PUB: it has expectation "
                              "values, not counts (circuit(i).evs, to_primitive_result())")
        return result.counts

    def get_memory(self, key: int | str) -> list[str]:
        """Per-shot outcomes of one circuit, when the set was run with memory kept."""
        result = self.circuit(key, memory=True)
        if result.counts is None:
            raise JobmanError(_no_result(result))
        if result.memory is None:
            raise JobmanError(f"circuit {result.index} has no shot memory; run with --memory")
        return result.memory

    def _planned_names(self, record: ChunkRecord) -> list[str | None] | None:
        """The names of a chunk without results, as written when the set was created (None for
        a set made before that, or an input whose names needed its circuits)."""
        try:
            names = self._set.read_names(record.index)
        except JobmanError:  # a damaged names file only loses the names of circuits not run yet
            return None
        return names if names is not None and len(names) == record.size else None

    def _chunk(self, chunk: int) -> "_Chunk":
        """A chunk's record and its lines, undecoded: a lookup decodes only the line it needs.

        Only the last chunk read is kept, so reading circuits in order (``--circuit 0-199999``)
        holds one chunk in memory at a time, like :meth:`circuits`.
        """
        if chunk not in self._cache:
            record = self._set.chunk(chunk)
            lines = self._set.result_lines(chunk, expected=record.size)
            self._cache = {chunk: _Chunk(record, lines, _running(record))}
        return self._cache[chunk]


@dataclass
class _Chunk:
    record: ChunkRecord
    lines: list[bytes] | None
    running: set[int]
    memory: list[bytes] | None = None  # read on first need


def _running(record: ChunkRecord) -> set[int]:
    """Circuits of an unfinished chunk that its current attempt (re)runs: they show the chunk's
    state. Every other stored line stands as written: a DONE circuit stays DONE, with its counts,
    while its chunk's failed circuits are retried (and after a kill in the middle of that)."""
    if record.job_status.is_final:
        return set()
    last = record.last_attempt()
    return set(last.indices()) if last is not None else set()


def _build(index: int, record: ChunkRecord, line: dict[str, Any] | None,
           running: Collection[int] = (), set_id: str = "", name: str | None = None) -> CircuitResult:
    """One circuit's result from its stored line (None: its chunk has no results yet, and
    ``name`` is the circuit's name where known before it runs)."""
    final = record.job_status.is_final
    if line is None and final:  # its results file is gone: never say DONE
        return CircuitResult(index, name, JobStatus.PENDING,
                             error=f"its stored result is missing; run `jobman resume {set_id}` "
                                   "to run it again")
    if line is None:
        return CircuitResult(index, name, record.job_status, error=record.error if final else None)
    status = line["status"]
    if not final and (status == JobStatus.PENDING.value
                      or (status != JobStatus.DONE.value and index in running)):
        return CircuitResult(index, line.get("name"), record.job_status)
    num_clbits = line.get("num_clbits", 0)
    creg_sizes = line.get("creg_sizes")  # absent in sets stored before registers were recorded
    counts = line.get("counts")
    if counts is not None:
        counts = format_counts(counts, num_clbits, creg_sizes)
    return CircuitResult(index, line.get("name"), JobStatus(line["status"]), counts,
                         line.get("error"), num_clbits, creg_sizes=creg_sizes,
                         metadata=line.get("metadata"), evs=line.get("evs"), stds=line.get("stds"))


def _no_result(result: CircuitResult) -> str:
    reason = f": {result.error}" if result.error else ""
    return f"circuit {result.index} has no result ({result.status.value}{reason})"
