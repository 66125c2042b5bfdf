"""Benchmark inputs: random 5-qubit circuits from a fixed seed, as QPY files of any length.

Building circuits costs about 0.15 ms each, so a million would take minutes. Instead a base
file of ``base`` circuits is built once, and a file of ``n`` circuits repeats the base
file's circuit payloads, patching a unique name (``r0000042``) into each copy. Every QPY 16+
payload decodes on its own behind the file's offset table, so the result is an ordinary QPY
file; circuit ``i`` is base circuit ``i % base`` under the name ``r{i:07d}``. A million
circuits (about 1.5 GB) take seconds to write, a piece at a time.
"""

from __future__ import annotations

import os
import struct
import sys
from array import array
from pathlib import Path

import numpy as np

NUM_QUBITS = 5
DEPTH = 6
NAME_WIDTH = 7  # digits in "r0000042": names up to 10 million circuits
_ONE_QUBIT = ("h", "x", "sx", "t", "s")
_ROTATIONS = ("rz", "rx", "ry")
_TWO_QUBIT = ("cx", "cz", "swap")
_OFFSET = struct.Struct("!Q")
_CIRCUIT_HEADER_SIZE = struct.calcsize("!H1cHIIQIQI")  # QPY 12+; the name follows it


def circuit_name(index: int) -> str:
    return f"r{index:0{NAME_WIDTH}d}"


def random_circuit(index: int, rng: np.random.Generator):
    """Layers of random one- and two-qubit gates on 5 qubits, then ``measure_all()``."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(NUM_QUBITS, name=circuit_name(index))
    for _ in range(DEPTH):
        order = [int(q) for q in rng.permutation(NUM_QUBITS)]
        while order:
            if len(order) > 1 and rng.random() < 0.5:
                getattr(circuit, _TWO_QUBIT[rng.integers(3)])(order.pop(), order.pop())
            elif rng.random() < 0.5:
                getattr(circuit, _ROTATIONS[rng.integers(3)])(float(rng.uniform(0, 6.2832)), order.pop())
            else:
                getattr(circuit, _ONE_QUBIT[rng.integers(5)])(order.pop())
    circuit.measure_all()
    return circuit


def write_base(path: Path, count: int, seed: int) -> Path:
    """A QPY file of ``count`` random circuits named ``r0000000``, ``r0000001``, ..."""
    from qiskit import qpy

    rng = np.random.default_rng(seed)
    circuits = [random_circuit(i, rng) for i in range(count)]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        qpy.dump(circuits, handle)
    os.replace(tmp, path)
    return path


def write_repeated(base: Path, path: Path, count: int) -> Path:
    """A QPY file of ``count`` circuits: the base file's payloads over and over, renamed."""
    from jobman.qpy_index import TABLE_MIN_VERSION, QpyIndex

    with open(base, "rb") as handle:
        index = QpyIndex.build(str(base), handle)
        handle.seek(index.bounds[0])
        body = handle.read()
    if index.header.version < TABLE_MIN_VERSION:
        sys.exit(f"{base}: QPY version {index.header.version} has no offset table")
    per_copy = len(index)
    starts = [b - index.bounds[0] for b in index.bounds]  # payload starts within ``body``
    head = index.header.with_count(count)
    first = len(head) + count * _OFFSET.size
    table = array("Q", (first + (i // per_copy) * len(body) + starts[i % per_copy] for i in range(count)))
    if sys.byteorder == "little":
        table.byteswap()  # QPY is big-endian
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(head)
        handle.write(table.tobytes())
        for copy_start in range(0, count, per_copy):
            size = min(per_copy, count - copy_start)
            piece = bytearray(body[: starts[size]])
            for j in range(size):
                at = starts[j] + _CIRCUIT_HEADER_SIZE
                piece[at:at + NAME_WIDTH + 1] = circuit_name(copy_start + j).encode()
            handle.write(piece)
    os.replace(tmp, path)
    return path


def ensure_inputs(folder: Path, sizes: list[int], base_count: int, seed: int) -> dict[int, Path]:
    """QPY files for every size in ``sizes``, made once and reused (the names say what they hold)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"random5q-base{base_count}-seed{seed}.qpy"
    if not base.exists():
        write_base(base, base_count, seed)
    files = {}
    for size in sizes:
        path = folder / f"random5q-{size}-base{base_count}-seed{seed}.qpy"
        if not path.exists():
            write_repeated(base, path, size)
        files[size] = path
    return files
