"""Random access to the circuits of one QPY file, in memory bounded by the circuits read.

``qiskit.qpy.load`` always builds the whole list of circuits. :class:`QpyIndex` instead records
the byte offset where each circuit starts, and :meth:`QpyIndex.load` wraps the payloads of
circuits ``[start, stop)`` into a small in-memory QPY file that it hands to ``qpy.load``.

File layout (``qiskit/qpy/formats.py`` and ``interface.py``, qiskit 2.6)::

    header   "!6sBBBBQc"   b"QISKIT", qpy_version, qiskit major/minor/patch, num_programs,
                           symbolic encoding (the last byte only from QPY 10 on)
    type key "!1c"         b"q" for circuits (from QPY 5 on)
    table    "!Q" * n      absolute start offset of each circuit (from QPY 16 on)
    circuits               one payload after the other; nothing follows the last one

Each payload decodes on its own. Before QPY 16 there is no table, and qiskit 2.6 has no
per-circuit reader any more (``binary_io.read_circuit`` calls a Rust function that no longer
exists), so :func:`_scan_offsets` finds where each circuit ends by probing: a QPY reader
ignores bytes after the last circuit and fails when they run out, so the end of a circuit
is the shortest prefix that loads as a one-circuit file (exponential then binary search, about
12 tiny loads per circuit). This is one sequential pass at open time that never holds more
than one circuit.
"""

from __future__ import annotations

import io
import operator
import re
import struct
import sys
from array import array
from dataclasses import dataclass
from itertools import accumulate, islice
from typing import TYPE_CHECKING, BinaryIO, Sequence

from jobman.exceptions import InputError

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

QPY_MAGIC = b"QISKIT"
TABLE_MIN_VERSION = 16  # first QPY version with a circuit offset table
_NUM_PROGRAMS = struct.Struct("!Q")
_NUM_PROGRAMS_AT = 10  # byte offset of num_programs in every header variant
_OFFSET = struct.Struct("!Q")
_CIRCUIT_KEY = b"q"
# CIRCUIT_HEADER_V12 (QPY 12+): the circuit name follows it; name_size is its first field.
_CIRCUIT_HEADER = struct.Struct("!H1cHIIQIQI")
_NAME_MIN_VERSION = 12
_NAME_SIZE = struct.Struct("!H")  # the first field of CIRCUIT_HEADER_V12
_FIRST_GUESS = 256  # bytes; the first probe size when scanning an old QPY file
MAX_CIRCUIT_BYTES = 256 << 20  # a scan gives up on one circuit larger than this

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DECORATION = re.compile(r"[\u2500-\u257f]+|Backtrace")


def one_line(exc: BaseException, limit: int = 300) -> str:
    """Flatten an exception message (Rust ones carry colours and a framed backtrace)."""
    message = getattr(exc, "message", None)  # QiskitError's str() is repr(message)
    text = message if isinstance(message, str) else str(exc)
    text = _DECORATION.sub("", _ANSI.sub("", text))
    parts = [re.sub(r"^\d+:\s*(Error:\s*)?", "", line.strip()) for line in text.splitlines()]
    text = "; ".join(p for p in parts if p and not p.startswith("at ")).replace(":; ", ": ")
    text = text or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _circuit_range(start: int, stop: int) -> str:
    return f"circuit {start}" if stop - start == 1 else f"circuits {start}..{stop - 1}"


def header_length(version: int) -> int:
    """Bytes of file header plus program type key for a QPY format version."""
    return (19 if version >= 10 else 18) + (1 if version >= 5 else 0)


@dataclass(frozen=True)
class QpyHeader:
    """The parsed start of a QPY file."""

    version: int
    num_programs: int
    raw: bytes  # header and type key, exactly as in the file

    def with_count(self, count: int) -> bytes:
        """The raw header with num_programs replaced by ``count``."""
        head = bytearray(self.raw)
        _NUM_PROGRAMS.pack_into(head, _NUM_PROGRAMS_AT, count)
        return bytes(head)


@dataclass(frozen=True)
class _Source:
    """The bytes a circuit was read from, and how to tell that it is still that circuit."""

    header: QpyHeader
    payload: memoryview
    owner: int  # id() of the circuit read; a copy of it has another
    size: int  # its number of instructions when read

    def __reduce__(self) -> tuple:
        return type(None), ()  # a pickled or deep-copied circuit carries no bytes (None)


def encoded(circuits: Sequence[QuantumCircuit]) -> bytes | None:
    """A QPY file of ``circuits`` made of the bytes they were read from, without encoding them again.

    None unless every circuit was read by :meth:`QpyIndex.load` from one file and is that very
    object, with as many instructions as when read (jobman never changes a circuit it read in
    place; a backend that changes circuits makes new ones, which have no bytes to reuse).
    """
    sources = [getattr(circuit, "_jobman_qpy", None) for circuit in circuits]
    if not sources or sources[0] is None:
        return None
    header = sources[0].header
    for circuit, source in zip(circuits, sources):
        if source is None or source.header is not header or source.owner != id(circuit) \
                or source.size != len(circuit.data):
            return None
    head = header.with_count(len(sources))
    if header.version < TABLE_MIN_VERSION:
        return b"".join([head, *(s.payload for s in sources)])
    offsets = array("Q", accumulate((len(s.payload) for s in sources[:-1]),
                                    initial=len(head) + len(sources) * _OFFSET.size))
    if sys.byteorder == "little":
        offsets.byteswap()
    return b"".join([head, offsets.tobytes(), *(s.payload for s in sources)])


def read_header(fh: BinaryIO, path: str, size: int) -> QpyHeader:
    """Read and check the header of the QPY file open as ``fh``."""
    from qiskit import __version__ as qiskit_version
    from qiskit.qpy import QPY_VERSION

    fh.seek(0)
    start = fh.read(header_length(0) + 2)
    if not start.startswith(QPY_MAGIC):
        raise InputError(f"not a QPY file: {path}")
    if len(start) < 7:
        raise InputError(f"truncated QPY file (incomplete header): {path}")
    version = start[6]
    if version > QPY_VERSION:
        raise InputError(
            f"QPY file {path} uses QPY format version {version}, newer than this qiskit "
            f"({qiskit_version}) reads (up to {QPY_VERSION}); upgrade qiskit to read it"
        )
    length = header_length(version)
    if size < length or len(start) < length:
        raise InputError(f"truncated QPY file (incomplete header): {path}")
    raw = start[:length]
    if version >= 5 and raw[-1:] != _CIRCUIT_KEY:
        raise InputError(f"QPY file {path} holds no circuits (payload type {raw[-1:]!r})")
    (count,) = _NUM_PROGRAMS.unpack_from(raw, _NUM_PROGRAMS_AT)
    return QpyHeader(version, count, raw)


def _loads(payload: bytes) -> list[QuantumCircuit]:
    from jobman.qpy_codec import loads

    return loads(payload)  # delays jobman wrote as duration expressions get their units back


class QpyIndex:
    """Start offsets of every circuit in one QPY file, plus the end of the last one."""

    def __init__(self, path: str, header: QpyHeader, bounds: array) -> None:
        self.path = path
        self.header = header
        self.bounds = bounds  # len(self) + 1 entries

    @classmethod
    def build(cls, path: str, fh: BinaryIO) -> QpyIndex:
        """Index the QPY file open as ``fh``; raise InputError if it is not readable."""
        size = fh.seek(0, io.SEEK_END)
        header = read_header(fh, path, size)
        if header.version >= TABLE_MIN_VERSION:
            index = cls(path, header, _read_table(fh, path, header, size))
            index._check_ends(fh)
            return index
        return cls(path, header, _scan_offsets(fh, path, header, size))

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def payload(self, fh: BinaryIO, start: int, stop: int) -> bytes:
        """A complete QPY file holding only circuits ``[start, stop)``."""
        first, end = self.bounds[start], self.bounds[stop]
        fh.seek(first)
        body = fh.read(end - first)
        if len(body) != end - first:
            raise InputError(f"QPY file {self.path} is shorter than when it was opened")
        count = stop - start
        head = self.header.with_count(count)
        if self.header.version < TABLE_MIN_VERSION:
            return head + body
        base = len(head) + count * _OFFSET.size - first
        table = b"".join(_OFFSET.pack(base + self.bounds[i]) for i in range(start, stop))
        return head + table + body

    def load(self, fh: BinaryIO, start: int, stop: int) -> list[QuantumCircuit]:
        """Circuits ``[start, stop)`` of this file; any reader error becomes InputError.

        Each circuit keeps the bytes it was read from, for :func:`encoded`.
        """
        if start >= stop:
            return []
        data = self.payload(fh, start, stop)
        try:
            circuits = _loads(data)
        except Exception as exc:  # qpy raises QpyError, QiskitError, struct.error, ...
            raise InputError(
                f"truncated or corrupt QPY file {self.path}: cannot read "
                f"{_circuit_range(start, stop)}: {one_line(exc)}"
            ) from exc
        if len(circuits) != stop - start:
            raise InputError(f"corrupt QPY file {self.path}: {_circuit_range(start, stop)}")
        view, shift = memoryview(data), len(data) - self.bounds[stop]  # the body ends the payload
        for i, circuit in zip(range(start, stop), circuits):
            own = view[shift + self.bounds[i]:shift + self.bounds[i + 1]]
            circuit._jobman_qpy = _Source(self.header, own, id(circuit), len(circuit.data))
        return circuits

    @property
    def names_in_headers(self) -> bool:
        """Whether circuit names can be read without decoding circuits (QPY 12 and later)."""
        return self.header.version >= _NAME_MIN_VERSION

    def names(self, fh: BinaryIO, start: int, stop: int) -> list[str]:
        """Circuit names read from the circuit headers, without decoding the circuits."""
        if not self.names_in_headers:
            return [c.name for c in self.load(fh, start, stop)]
        if start >= stop:
            return []
        first, end = self.bounds[start], self.bounds[stop]
        fh.seek(first)
        body = fh.read(end - first)  # one read: a name lies at each circuit's start
        if len(body) != end - first:
            raise InputError(f"QPY file {self.path} is shorter than when it was opened")
        names, unpack, head = [], _NAME_SIZE.unpack_from, _CIRCUIT_HEADER.size
        for i in range(start, stop):
            at = self.bounds[i] - first
            (size,) = unpack(body, at)
            names.append(body[at + head:at + head + size].decode("utf-8", errors="replace"))
        return names

    def _check_ends(self, fh: BinaryIO) -> None:
        """Decode the first and last circuit: catches most truncations and corruptions."""
        for i in sorted({0, len(self) - 1} if len(self) else ()):
            self.load(fh, i, i + 1)


def _read_table(fh: BinaryIO, path: str, header: QpyHeader, size: int) -> array:
    """The offset table of a QPY 16+ file, checked against the file size."""
    count = header.num_programs
    table_end = len(header.raw) + count * _OFFSET.size
    if table_end > size:
        raise InputError(
            f"truncated QPY file {path}: the offset table for {count} circuits "
            f"does not fit in {size} bytes"
        )
    fh.seek(len(header.raw))
    bounds = array("Q")
    bounds.frombytes(fh.read(count * _OFFSET.size))
    if sys.byteorder == "little":
        bounds.byteswap()
    bounds.append(size)
    if count and (bounds[0] < table_end or bounds[count - 1] >= size):
        raise InputError(f"corrupt QPY file {path}: circuit offsets point outside the file")
    if not all(map(operator.lt, bounds, islice(bounds, 1, None))):
        raise InputError(f"corrupt QPY file {path}: circuit offsets are not increasing")
    return bounds


class _Prober:
    """Finds where one circuit ends by loading ever shorter or longer prefixes of it."""

    def __init__(self, fh: BinaryIO, header: QpyHeader, size: int) -> None:
        self.fh = fh
        self.head = header.with_count(1)
        self.size = size
        self.start = 0
        self.buffer = b""
        self.error: Exception | None = None

    def fits(self, end: int) -> bool:
        """Whether bytes ``[start, end)`` hold the whole circuit."""
        need = end - self.start
        if need > len(self.buffer):
            self.fh.seek(self.start)
            self.buffer = self.fh.read(max(need, 2 * len(self.buffer)))
        try:
            _loads(self.head + self.buffer[:need])
        except Exception as exc:  # too short, or corrupt; the search tells which
            self.error = exc
            return False
        return True

    def circuit_end(self, start: int, guess: int) -> int | None:
        """End offset of the circuit at ``start``, or None if no prefix loads."""
        self.start, self.buffer = start, b""
        lo, hi = start, min(start + guess, self.size)
        while not self.fits(hi):
            if hi >= self.size or hi - start >= MAX_CIRCUIT_BYTES:
                return None
            lo, hi = hi, min(start + 2 * (hi - start), self.size)
        while hi - lo > 1:  # invariant: [start, lo) is too short, [start, hi) loads
            mid = (lo + hi) // 2
            if self.fits(mid):
                hi = mid
            else:
                lo = mid
        return hi


def _scan_offsets(fh: BinaryIO, path: str, header: QpyHeader, size: int) -> array:
    """Offsets of the circuits of a QPY file without a table (before version 16)."""
    prober = _Prober(fh, header, size)
    bounds = array("Q", [len(header.raw)])
    guess = _FIRST_GUESS
    for i in range(header.num_programs):
        start = bounds[-1]
        end = prober.circuit_end(start, guess) if start < size else None
        if end is None:
            detail = one_line(prober.error) if prober.error else "no bytes left"
            raise InputError(
                f"truncated or corrupt QPY file {path}: circuit {i} of "
                f"{header.num_programs} (byte {start}) cannot be read: {detail}"
            )
        bounds.append(end)
        guess = max(end - start, 16)
    return bounds
