"""Circuit inputs: QPY and OpenQASM files behind one global circuit index.

:func:`open_source` turns paths into a :class:`CircuitSource`; :meth:`CircuitSource.load`
returns circuits ``[start, stop)`` by global index (input order), reading only those circuits.
:func:`reopen_source` rebuilds a source from recorded :class:`InputFile` entries on resume.

qiskit is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import sys
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from itertools import accumulate
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterator, Protocol, Sequence

from jobman.exceptions import CircuitIndexError, InputError, UsageError
from jobman.qpy_index import QPY_MAGIC, QpyIndex, one_line

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

FORMATS = ("qpy", "qasm2", "qasm3")
QASM_SUFFIXES = (".qasm", ".qasm2", ".qasm3")
CIRCUIT_SUFFIXES = (".qpy", *QASM_SUFFIXES)
_HASH_BLOCK = 1 << 20
_SNIFF_BYTES = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_LEADING_NOISE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.S)
_VERSION_LINE = re.compile(r"OPENQASM\s+(\d+)")
_AUTO_NAME = re.compile(r"circuit-\d+")


@dataclass(frozen=True)
class InputFile:
    """One input file as recorded in a job set."""

    path: str  # absolute path
    format: str  # "qpy" | "qasm2" | "qasm3"
    sha256: str  # hex digest of the file bytes
    size: int  # bytes
    count: int  # number of circuits in this file
    given: str | None = None  # a stream (stdin, FIFO, <(...)) as given; ``path`` is its copy in the set
    error: str | None = None  # why a QASM file of a directory cannot be read: its one circuit fails

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (``given`` and ``error`` only when set)."""
        return {key: value for key, value in asdict(self).items()
                if value is not None or key not in ("given", "error")}

    @classmethod
    def from_dict(cls, d: dict) -> InputFile:
        """Inverse of :meth:`to_dict`."""
        try:
            record = cls(
                path=str(d["path"]),
                format=str(d["format"]),
                sha256=str(d["sha256"]),
                size=int(d["size"]),
                count=int(d["count"]),
                given=None if d.get("given") is None else str(d["given"]),
                error=None if d.get("error") is None else str(d["error"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"invalid input file record: {d!r}") from exc
        if record.format not in FORMATS:
            raise InputError(f"unknown input format {record.format!r} for {record.path}")
        return record


class _Reader(Protocol):
    count: int
    names_are_cheap: bool  # names() reads no circuit (QPY 12+ headers, QASM file names)

    def load(self, start: int, stop: int) -> list[QuantumCircuit]: ...

    def names(self, start: int, stop: int) -> list[str]: ...


class CircuitSource:
    """Circuits from one or more input files, with one global index in input order.

    Safe to use from several threads: readers hold no open file between calls (each call opens
    its own handle), so :meth:`close` has nothing to release and loading after it still works.
    Loaded circuits contain reference cycles and are freed only by the cyclic garbage collector;
    a caller that drops chunk after chunk keeps its peak near one chunk by calling
    ``gc.collect()`` after dropping one (without it, several dead chunks linger).
    """

    def __init__(self, files: Sequence[InputFile], readers: Sequence[_Reader]) -> None:
        self.files: list[InputFile] = list(files)
        self._readers = list(readers)
        self._starts = list(accumulate((r.count for r in self._readers), initial=0))

    def __len__(self) -> int:
        return self._starts[-1]

    def load(self, start: int, stop: int) -> list[QuantumCircuit]:
        """Circuits ``[start, stop)`` by global index; the range may span files."""
        circuits: list[QuantumCircuit] = []
        for reader, lo, hi in self._pieces(start, stop):
            circuits.extend(reader.load(lo, hi))
        return circuits

    def names(self, start: int, stop: int) -> list[str]:
        """Names of circuits ``[start, stop)``, without decoding them where possible."""
        names: list[str] = []
        for reader, lo, hi in self._pieces(start, stop):
            names.extend(reader.names(lo, hi))
        return names

    def plan_names(self, start: int, stop: int) -> list[str] | None:
        """Names of circuits ``[start, stop)`` where they can be read without decoding a circuit
        (QPY 12 and later, QASM): for a new set, so that names are known before circuits run;
        None where reading them would mean loading circuits (older QPY)."""
        pieces = list(self._pieces(start, stop))
        if not all(reader.names_are_cheap for reader, _, _ in pieces):
            return None
        return [name for reader, lo, hi in pieces for name in reader.names(lo, hi)]

    def locate(self, index: int) -> tuple[InputFile, int]:
        """The file holding global circuit ``index`` and the circuit's index inside it."""
        if not 0 <= index < len(self):
            raise CircuitIndexError(f"circuit index {index} is outside 0..{len(self) - 1}")
        k = bisect_right(self._starts, index) - 1
        return self.files[k], index - self._starts[k]

    def close(self) -> None:
        """Release resources (none are held between calls; kept for the protocol)."""

    def __enter__(self) -> CircuitSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _pieces(self, start: int, stop: int) -> Iterator[tuple[_Reader, int, int]]:
        """(reader, local start, local stop) for each file that ``[start, stop)`` touches."""
        if not 0 <= start <= stop <= len(self):
            raise CircuitIndexError(f"circuit range {start}..{stop} is outside 0..{len(self)}")
        k = bisect_right(self._starts, start) - 1
        while start < stop:
            end = min(stop, self._starts[k + 1])
            if end > start:
                yield self._readers[k], start - self._starts[k], end - self._starts[k]
            start, k = end, k + 1


class _QpyReader:
    """One QPY file, indexed once; every call opens its own handle."""

    def __init__(self, path: str) -> None:
        self.path = path
        with _open_binary(path) as fh:
            self.index = QpyIndex.build(path, fh)
        self.count = len(self.index)
        self.names_are_cheap = self.index.names_in_headers

    def load(self, start: int, stop: int) -> list[QuantumCircuit]:
        with _open_binary(self.path) as fh:
            return self.index.load(fh, start, stop)

    def names(self, start: int, stop: int) -> list[str]:
        with _open_binary(self.path) as fh:
            return self.index.names(fh, start, stop)


class _QasmReader:
    """One OpenQASM file, which holds exactly one circuit, named after the file."""

    def __init__(self, path: str, fmt: str, *, check: bool) -> None:
        self.path, self.format, self.count = path, fmt, 1
        self.names_are_cheap = True
        if check:
            self.load(0, 1)

    def load(self, start: int, stop: int) -> list[QuantumCircuit]:
        return [_read_qasm(self.path, self.format)] if start < stop else []

    def names(self, start: int, stop: int) -> list[str]:
        # OpenQASM cannot name a circuit, so the loaded name is always the file stem.
        return [Path(self.path).stem] * (stop - start)


class _FailedReader:
    """A QASM file of a directory that cannot be read: one circuit, named after the file, whose
    loading fails with the reason (so it fails alone, and the others run)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason, self.count = path, reason, 1
        self.names_are_cheap = True

    def load(self, start: int, stop: int) -> list[QuantumCircuit]:
        if start < stop:
            raise InputError(self.reason)
        return []

    def names(self, start: int, stop: int) -> list[str]:
        return [Path(self.path).stem] * (stop - start)


def is_stream(item: str | os.PathLike) -> bool:
    """Whether an input can be read only once: ``-`` (stdin), a FIFO, a character device or a
    pipe such as ``/dev/stdin`` or ``<(...)`` (``/dev/fd/N``)."""
    text = os.fspath(item)
    if text in ("-", "/dev/stdin") or text.startswith(("/dev/fd/", "/proc/")):
        return True  # names of this process's open files: meaningless to a later resume
    try:
        mode = os.stat(text).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def spool_stream(item: str | os.PathLike, folder: Path, number: int) -> Path:
    """Copy a stream, read once, to ``folder/stream-<number>/<name>`` (``stdin`` for ``-``)."""
    text = os.fspath(item)
    name = "stdin" if text == "-" else (Path(text).name or "stream")
    target = folder / f"stream-{number}" / name
    if text == "-" and sys.stdin is not None and sys.stdin.isatty():
        raise UsageError("stdin is a terminal: pipe the circuits in (cat c.qpy | jobman run -)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _stream_handle(text) as source, open(target, "wb") as copy:
            shutil.copyfileobj(source, copy, _HASH_BLOCK)
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read {text}: {exc.strerror or exc}") from None
    return target


@contextmanager
def _stream_handle(text: str) -> Iterator[IO[bytes]]:
    if text == "-":
        if sys.stdin is None:
            raise InputError("cannot read - (there is no stdin)")
        yield sys.stdin.buffer
        return
    with _open_binary(text) as handle:
        yield handle


def expand_paths(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Files as given; a directory becomes its circuit files sorted by name (not recursive)."""
    result: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            result.extend(_circuit_files(path))
        elif path.exists():
            result.append(path)
        else:
            raise InputError(f"no such file: {item}")
    return result


def _circuit_files(directory: Path) -> list[Path]:
    """Non-hidden files with a circuit suffix directly in ``directory``, sorted by name."""
    files = sorted(
        (
            p
            for p in directory.iterdir()
            if p.suffix.lower() in CIRCUIT_SUFFIXES and p.is_file() and not p.name.startswith(".")
        ),
        key=lambda p: p.name,
    )
    if not files:
        suffixes = ", ".join(CIRCUIT_SUFFIXES)
        raise InputError(f"no circuit files ({suffixes}) in directory: {directory}")
    return files


def open_source(paths: Sequence[str | os.PathLike], spool: Path | None = None) -> CircuitSource:
    """Expand, check, hash and index the input files; raise InputError naming a bad file.

    Streams (see :func:`is_stream`) are read once into ``spool`` and used from there (their
    record keeps what was ``given``). In a directory, a QASM file that cannot be read is one
    circuit that fails with the reason (the record's ``error``), not an error for the whole input.
    """
    files: list[InputFile] = []
    readers: list[_Reader] = []
    for item in paths:
        for record, reader in _open_item(item, spool, len(files)):
            files.append(record)
            readers.append(reader)
    if not files:
        raise InputError("no input files given")
    source = CircuitSource(files, readers)
    if not len(source):
        raise InputError(f"the input files hold no circuits: {', '.join(f.path for f in files)}")
    return source


def _open_item(item: str | os.PathLike, spool: Path | None, number: int
               ) -> Iterator[tuple[InputFile, _Reader]]:
    """(record, reader) for each file one given input stands for."""
    if is_stream(item):
        if spool is None:
            raise InputError(f"cannot read {os.fspath(item)} here: streams need a job set to keep them")
        copy = spool_stream(item, spool, number)
        try:
            record, reader = _open_file(copy)
        except InputError as exc:  # named as the user gave it, not as its copy
            raise InputError(str(exc).replace(str(copy), os.fspath(item))) from None
        yield replace(record, given=os.fspath(item)), reader
        return
    folder = Path(item).is_dir()
    for path in expand_paths([item]):
        if folder and path.suffix.lower() in QASM_SUFFIXES:
            yield _open_member(path)
        else:
            yield _open_file(path)


def _open_member(path: Path) -> tuple[InputFile, _Reader]:
    """A QASM file of a directory: one that cannot be read becomes one failing circuit."""
    try:
        return _open_file(path)
    except InputError as exc:
        absolute = os.path.abspath(path)
        fmt = "qasm3" if path.suffix.lower() == ".qasm3" else "qasm2"
        return InputFile(absolute, fmt, "", 0, 1, error=str(exc)), _FailedReader(absolute, str(exc))


def reopen_source(files: Sequence[InputFile], *, verify: bool = True) -> CircuitSource:
    """Reopen recorded files; with ``verify``, fail if any changed since it was recorded."""
    readers: list[_Reader] = []
    for record in files:
        if record.error is not None:  # failed when the set was created: it fails the same way
            readers.append(_FailedReader(record.path, record.error))
            continue
        if not os.path.isfile(record.path):
            raise InputError(f"no such file: {record.path}")
        if verify and _digest(Path(record.path), record.size) != (record.sha256, record.size):
            raise InputError(f"input file changed since the job set was created: {record.path}")
        reader = _make_reader(record.path, record.format, check=False)
        if reader.count != record.count:
            raise InputError(f"input file changed since the job set was created: {record.path}")
        readers.append(reader)
    return CircuitSource(files, readers)


def detect_format(path: Path, head: bytes) -> str:
    """``"qpy"``, ``"qasm2"`` or ``"qasm3"`` from the first bytes of a file (and its suffix)."""
    if head.startswith(QPY_MAGIC):
        return "qpy"
    if head.startswith(_GZIP_MAGIC):
        raise InputError(f"compressed input is not supported, decompress it first: {path}")
    if b"\0" not in head:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        match = _VERSION_LINE.match(text, _LEADING_NOISE.match(text).end())
        if match and match.group(1) in ("2", "3"):
            return "qasm" + match.group(1)
        if match:
            raise InputError(f"unsupported OpenQASM version {match.group(1)}: {path}")
        if path.suffix.lower() in (".qasm", ".qasm2"):
            return "qasm2"
        if path.suffix.lower() == ".qasm3":
            return "qasm3"
    raise InputError(f"not a QPY or OpenQASM file: {path}")


def _open_file(path: Path) -> tuple[InputFile, _Reader]:
    """Check, hash and index one file."""
    head, sha256, size = _fingerprint(path)
    if size == 0:
        raise InputError(f"empty file: {path}")
    fmt = detect_format(path, head)
    absolute = os.path.abspath(path)
    reader = _make_reader(absolute, fmt, check=True)
    return InputFile(absolute, fmt, sha256, size, reader.count), reader


def _make_reader(path: str, fmt: str, *, check: bool) -> _Reader:
    if fmt == "qpy":
        return _QpyReader(path)
    if fmt in ("qasm2", "qasm3"):
        return _QasmReader(path, fmt, check=check)
    raise InputError(f"unknown input format {fmt!r} for {path}")


def _open_binary(path: str | Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _fingerprint(path: Path) -> tuple[bytes, str, int]:
    """First bytes, sha256 hex digest and size of a file, in one pass of 1 MiB blocks."""
    digest, head, size = hashlib.sha256(), b"", 0
    with _open_binary(path) as fh:
        while block := fh.read(_HASH_BLOCK):
            head = head or block[:_SNIFF_BYTES]
            digest.update(block)
            size += len(block)
    return head, digest.hexdigest(), size


def _digest(path: Path, expected_size: int) -> tuple[str, int]:
    """(sha256, size) of a file; skips hashing when the size already differs."""
    size = path.stat().st_size
    if size != expected_size:
        return "", size
    _, sha256, size = _fingerprint(path)
    return sha256, size


def _read_qasm(path: str, fmt: str) -> QuantumCircuit:
    """Parse one OpenQASM file; an auto-generated circuit name becomes the file stem."""
    try:
        circuit = _parse_qasm(path, fmt)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # each parser has its own exception types
        raise InputError(f"invalid OpenQASM {fmt[-1]} file {path}: {_qasm_error(exc)}") from exc
    if _AUTO_NAME.fullmatch(circuit.name):
        circuit.name = Path(path).stem
    return circuit


def _parse_qasm(path: str, fmt: str) -> QuantumCircuit:
    if fmt == "qasm2":
        from qiskit import qasm2

        return qasm2.load(path, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    from qiskit import qasm3

    return qasm3.load(path)


def _qasm_error(exc: BaseException) -> str:
    """The parser's message; for ANTLR's empty syntax errors, the offending token's place."""
    if str(exc).strip("'\" "):
        return one_line(exc)
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        for obj in (cause, *cause.args):
            token: Any = getattr(obj, "offendingToken", None)
            if token is not None:
                return f"line {token.line}, column {token.column}: syntax error at {token.text!r}"
        cause = cause.__cause__ or cause.__context__
    return f"syntax error ({type(exc).__name__})"


def make_basis_circuits(n: int, num_qubits: int, name_prefix: str = "c") -> list[QuantumCircuit]:
    """Circuits whose outcome is known: circuit i prepares basis state ``i % 2**num_qubits``.

    Qubit k gets an X gate where bit k of the state is set, then ``measure_all()``, so the counts
    are ``{format(i % 2**num_qubits, f"0{num_qubits}b"): shots}``. Names are ``f"{prefix}{i}"``.
    """
    from qiskit import QuantumCircuit

    circuits = []
    for i in range(n):
        state = i % (1 << num_qubits)
        circuit = QuantumCircuit(num_qubits, name=f"{name_prefix}{i}")
        for k in range(num_qubits):
            if state >> k & 1:
                circuit.x(k)
        circuit.measure_all()
        circuits.append(circuit)
    return circuits
