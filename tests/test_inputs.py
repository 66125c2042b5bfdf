"""Tests for jobman.inputs and jobman.qpy_index: random access to QPY, QASM, errors, resume."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from qiskit import QuantumCircuit, qpy, transpile
from qiskit.circuit import ClassicalRegister, Parameter, ParameterVector, QuantumRegister
from qiskit.circuit.classical import expr
from qiskit.circuit.library import PauliEvolutionGate, QFTGate
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import SparsePauliOp

from jobman.exceptions import CircuitIndexError, InputError
from jobman.inputs import (
    InputFile,
    expand_paths,
    make_basis_circuits,
    open_source,
    reopen_source,
)

REPO = Path(__file__).resolve().parents[1]
QASM2 = """// a comment before the header
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2]; creg c[2];
u(0.1,0.2,0.3) q[0];
cu1(0.5) q[0],q[1];
measure q -> c;
"""
QASM3 = """/* block
   comment */
OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q; bit[2] c;
h q[0]; cx q[0], q[1];
c = measure q;
"""


def _parametric_circuit() -> QuantumCircuit:
    theta, vec = Parameter("θ"), ParameterVector("p", 3)
    circuit = QuantumCircuit(3, name="param", metadata={"k": [1, 2]}, global_phase=theta / 2)
    circuit.rx(theta, 0)
    circuit.ry(vec[0] * vec[1] + 1, 1)
    circuit.rzz(vec[2], 1, 2)
    circuit.measure_all()
    return circuit


def _custom_gate_circuit() -> QuantumCircuit:
    sub = QuantumCircuit(2, name="mygate")
    sub.h(0)
    sub.cx(0, 1)
    circuit = QuantumCircuit(3, name="custom")
    circuit.append(sub.to_gate(), [0, 2])
    circuit.append(sub.to_instruction(label="lbl"), [1, 2])
    circuit.append(sub.to_gate().control(1), [0, 1, 2])
    circuit.append(QFTGate(3), [0, 1, 2])
    circuit.append(PauliEvolutionGate(SparsePauliOp(["XY", "ZZ"], [0.3, 0.7]), time=0.5), [0, 1])
    circuit.measure_all()
    return circuit


def _control_flow_circuit() -> QuantumCircuit:
    creg = ClassicalRegister(2, "c")
    circuit = QuantumCircuit(QuantumRegister(2, "q"), creg, name="flow")
    var = circuit.add_var("v", expr.lift(True))
    circuit.measure(0, 0)
    with circuit.if_test(expr.logic_and(expr.equal(creg, 1), var)) as else_:
        circuit.x(1)
    with else_:
        circuit.z(1)
    with circuit.for_loop(range(3)) as idx:
        circuit.rx(idx, 1)
    circuit.store(var, expr.logic_not(var))
    return circuit


def _special_circuits() -> list[QuantumCircuit]:
    """Circuits using parameters, custom gates, control flow, vars and a layout."""
    base = QuantumCircuit(3)
    base.h(0)
    base.cx(0, 2)
    base.measure_all()
    routed = transpile(base, basis_gates=["rz", "sx", "cx"], coupling_map=[[0, 1], [1, 2], [2, 3]])
    special = [_parametric_circuit(), _custom_gate_circuit(), _control_flow_circuit(), routed]
    return special + [QuantumCircuit(1, name="empty")]


@pytest.fixture(scope="module")
def circuits() -> list[QuantumCircuit]:
    randoms = [
        random_circuit(2 + i % 4, 1 + i % 6, measure=i % 2 == 0, conditional=i % 5 == 0, seed=i)
        for i in range(60)
    ]
    return randoms[:30] + _special_circuits() + randoms[30:]


def _write_qpy(path: Path, circuits: list[QuantumCircuit], version: int = 18) -> Path:
    with open(path, "wb") as fh:
        qpy.dump(circuits, fh, version=version)
    return path


def _full_load(path: Path) -> list[QuantumCircuit]:
    with open(path, "rb") as fh:
        return qpy.load(fh)


def _error(paths: list[Path]) -> str:
    with pytest.raises(InputError) as info:
        open_source(paths)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("version", [13, 14, 15, 16, 17, 18])
def test_chunked_load_equals_full_load(tmp_path, circuits, version):
    path = _write_qpy(tmp_path / "c.qpy", circuits, version)
    expected = _full_load(path)
    with open_source([path]) as source:
        assert len(source) == len(circuits) == source.files[0].count
        for size in (1, 7, 32, len(circuits)):
            starts = range(0, len(source), size)
            chunks = [source.load(a, min(a + size, len(source))) for a in starts]
            assert [c for chunk in chunks for c in chunk] == expected
        assert source.load(29, 36) == expected[29:36]
        assert source.load(5, 5) == []
        assert source.names(0, len(source)) == [c.name for c in expected]


def test_chunks_span_files(tmp_path, circuits):
    parts = [circuits[:20], [], circuits[20:45], circuits[45:]]
    paths = [
        _write_qpy(tmp_path / f"{i}.qpy", part, version)
        for i, (part, version) in enumerate(zip(parts, (13, 18, 16, 17)))
    ]
    expected = [c for path in paths for c in _full_load(path)]
    source = open_source(paths)
    assert [f.count for f in source.files] == [20, 0, 25, len(circuits) - 45]
    for start, stop in [(0, 65), (19, 21), (18, 47), (20, 45), (44, 46), (0, 20), (64, 65)]:
        assert source.load(start, stop) == expected[start:stop]
    assert source.names(15, 50) == [c.name for c in expected[15:50]]
    assert source.locate(20) == (source.files[2], 0)
    with pytest.raises(CircuitIndexError):
        source.load(0, len(source) + 1)
    with pytest.raises(CircuitIndexError):
        source.load(-1, 2)


def test_concurrent_loads(tmp_path, circuits):
    source = open_source([_write_qpy(tmp_path / "c.qpy", circuits * 4)])
    ranges = [(a, min(a + 9, len(source))) for a in range(0, len(source), 9)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda r: source.load(*r), ranges))
    assert [c for chunk in results for c in chunk] == _full_load(Path(source.files[0].path))


def test_expand_paths_sorts_directory_by_name(tmp_path):
    for name in ("b.qpy", "a.qasm", "c.QASM3", "d.qasm2", "notes.txt", ".hidden.qpy"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub.qpy").mkdir()
    single = tmp_path / "notes.txt"
    found = expand_paths([single, tmp_path])
    assert [p.name for p in found] == ["notes.txt", "a.qasm", "b.qpy", "c.QASM3", "d.qasm2"]


def test_expand_paths_errors(tmp_path):
    with pytest.raises(InputError, match="no such file: .*missing.qpy"):
        expand_paths([tmp_path / "missing.qpy"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no circuit files .*empty"):
        expand_paths([tmp_path / "empty"])


def test_mixed_inputs_have_global_indices(tmp_path, circuits):
    qpy_path = _write_qpy(tmp_path / "first.qpy", circuits[:3])
    (tmp_path / "bell.qasm").write_text(QASM2)
    (tmp_path / "ghz.qasm3").write_text(QASM3)
    (tmp_path / "plain.qasm").write_text('include "qelib1.inc";\nqreg q[1];\nh q[0];\n')
    paths = [qpy_path, tmp_path / "bell.qasm", tmp_path / "ghz.qasm3", tmp_path / "plain.qasm"]
    source = open_source(paths)
    assert [f.format for f in source.files] == ["qpy", "qasm2", "qasm3", "qasm2"]
    assert [f.count for f in source.files] == [3, 1, 1, 1]
    assert all(Path(f.path).is_absolute() and len(f.sha256) == 64 for f in source.files)
    loaded = source.load(2, 6)
    assert loaded[0] == circuits[2]
    assert [c.name for c in loaded] == [circuits[2].name, "bell", "ghz", "plain"]
    assert source.names(0, 6) == [c.name for c in source.load(0, 6)]
    assert source.plan_names(1, 6) == [c.name for c in source.load(1, 6)]  # known before they run
    assert set(loaded[1].count_ops()) == {"u", "cu1", "measure"}
    assert loaded[2].count_ops() == {"h": 1, "cx": 1, "measure": 2}


def _qpy_bytes(circuits: list[QuantumCircuit], version: int) -> bytes:
    buffer = io.BytesIO()
    qpy.dump(circuits, buffer, version=version)
    return buffer.getvalue()


def _bad_inputs(circuits: list[QuantumCircuit]) -> dict[str, tuple[str, bytes, str]]:
    """name -> (file name, content, expected message fragment)."""
    v18, v13 = _qpy_bytes(circuits[:5], 18), _qpy_bytes(circuits[:5], 13)
    table = bytearray(v18)
    table[20 + 8 : 20 + 16] = (10**9).to_bytes(8, "big")
    newer = bytearray(v18)
    newer[6] = qpy.QPY_VERSION + 1
    return {
        "empty": ("e.qpy", b"", "empty file"),
        "text": ("t.txt", b"hello world\n", "not a QPY or OpenQASM file"),
        "binary": ("b.qasm", b"\x00\x01\x02garbage", "not a QPY or OpenQASM file"),
        "gzip": ("g.qpy.gz", b"\x1f\x8b\x08\x00rest", "compressed input is not supported"),
        "qasm4": ("q.qasm", b"OPENQASM 4.0;\n", "unsupported OpenQASM version 4"),
        "short_header": ("s.qpy", v18[:12], "incomplete header"),
        "magic_only": ("m.qpy", b"QISKIT", "incomplete header"),
        "short_table": ("st.qpy", v18[:30], "offset table"),
        "bad_table": ("bt.qpy", bytes(table), "circuit offsets"),
        "truncated_v18": ("t18.qpy", v18[:-7], "truncated or corrupt"),
        "truncated_v13": ("t13.qpy", v13[:-7], "circuit 4 of 5"),
        "newer": ("n.qpy", bytes(newer), f"version {qpy.QPY_VERSION + 1}, newer than"),
        "qasm2_syntax": ("s2.qasm", QASM2.replace("c[2];", "c[2]").encode(), "5,0"),
        "qasm3_syntax": ("s3.qasm3", QASM3.replace("cx q[0]", "cx q[0]]").encode(), "line 6"),
        "qasm3_semantic": ("s4.qasm3", b"OPENQASM 3.0;\nqubit q;\nfoo q;\n", "3,0"),
    }


@pytest.mark.parametrize("case", sorted(_bad_inputs([QuantumCircuit(1)] * 5)))
def test_bad_inputs_raise_input_error_naming_the_file(tmp_path, circuits, case):
    name, content, fragment = _bad_inputs(circuits)[case]
    path = tmp_path / name
    path.write_bytes(content)
    message = _error([path])
    assert name in message and fragment in message


def test_corrupt_middle_circuit_fails_on_load(tmp_path, circuits):
    data = bytearray(_qpy_bytes(circuits[:10], 18))
    start = int.from_bytes(data[20 + 8 * 5 : 20 + 8 * 6], "big")
    data[start : start + 37] = b"\xff" * 37
    path = tmp_path / "middle.qpy"
    path.write_bytes(bytes(data))
    source = open_source([path])  # first and last circuit are fine
    assert source.load(0, 5) == circuits[:5]
    with pytest.raises(InputError, match="middle.qpy: cannot read circuit 5: "):
        source.load(5, 6)


def test_reopen_source_verifies_files(tmp_path, circuits):
    path = _write_qpy(tmp_path / "c.qpy", circuits[:8], 13)
    (tmp_path / "x.qasm").write_text(QASM2)
    records = open_source([path, tmp_path / "x.qasm"]).files
    restored = [InputFile.from_dict(json.loads(json.dumps(r.to_dict()))) for r in records]
    assert restored == records
    assert reopen_source(restored).load(6, 9)[:2] == circuits[6:8]
    path.write_bytes(path.read_bytes().replace(b"circuit-", b"circuit_"))  # same size
    with pytest.raises(InputError, match="changed since the job set was created: .*c.qpy"):
        reopen_source(restored)
    assert reopen_source(restored, verify=False).names(0, 1)[0].startswith("circuit_")
    _write_qpy(path, circuits[:3], 18)
    with pytest.raises(InputError, match="changed since"):
        reopen_source(restored, verify=False)
    path.unlink()
    with pytest.raises(InputError, match="no such file: .*c.qpy"):
        reopen_source(restored)


def test_make_basis_circuits_gives_known_counts():
    from qiskit_aer import AerSimulator

    made = make_basis_circuits(10, 3, name_prefix="b")
    assert [c.name for c in made] == [f"b{i}" for i in range(10)]
    result = AerSimulator().run(made, shots=20, seed_simulator=1).result()
    for i, circuit in enumerate(made):
        assert result.get_counts(circuit) == {format(i % 8, "03b"): 20}


def test_import_does_not_load_qiskit():
    code = "import sys, jobman.inputs; print(any(m.startswith('qiskit') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import gc, os, sys
    from qiskit import qpy
    from jobman.inputs import open_source

    def rss():  # resident bytes now; freed heap mostly stays resident, so this tracks the peak
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    mode, path = sys.argv[1:]
    source = open_source([path])
    source.load(0, 10)
    base = high = rss()
    if mode == "full":
        with open(path, "rb") as fh:
            circuits = qpy.load(fh)
        count, high = len(circuits), rss()
    else:
        count = 0
        for start in range(0, len(source), 1000):
            circuits = None
            gc.collect()  # circuits hold reference cycles: without this, ~5 dead chunks linger
            circuits = source.load(start, min(start + 1000, len(source)))
            count, high = count + len(circuits), max(high, rss())
    print(count, (high - base) // 2**20)
    """
)


def test_chunked_load_memory_is_bounded(tmp_path):
    circuits = [random_circuit(5, 6, measure=True, seed=i) for i in range(1000)]
    path = _write_qpy(tmp_path / "big.qpy", circuits * 20)
    growth = {}
    for mode in ("full", "chunked"):
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_SCRIPT, mode, str(path)],
            cwd=REPO, capture_output=True, text=True, check=True,
        )
        count, growth[mode] = map(int, out.stdout.split())
        assert count == 20000
    assert growth["full"] > 50  # MiB
    assert growth["chunked"] < growth["full"] / 3, growth


BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def test_streams_are_read_once_into_the_spool_and_keep_what_was_given(tmp_path):
    import os
    import threading

    from jobman.inputs import is_stream

    fifo = tmp_path / "bell.qasm"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(BELL,))
    writer.start()
    source = open_source([fifo], spool=tmp_path / "spool")
    writer.join()
    record, = source.files
    assert record.given == str(fifo) and record.path == str(tmp_path / "spool" / "stream-0" / "bell.qasm")
    assert source.load(0, 1)[0].name == "bell" and source.load(0, 1)[0].count_ops()["measure"] == 2  # again
    assert InputFile.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    assert is_stream("-") and is_stream("/dev/stdin") and is_stream(fifo)
    assert not is_stream(tmp_path) and not is_stream(tmp_path / "spool" / "stream-0" / "bell.qasm")
    assert is_stream("/dev/fd/0") and is_stream("/proc/self/fd/0") and is_stream("/dev/null")
    with pytest.raises(InputError, match="streams need a job set"):
        open_source([fifo])


def test_a_qasm_file_of_a_directory_that_cannot_be_read_is_one_failing_circuit(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.qasm").write_text(BELL)
    (folder / "b.qasm").write_text("OPENQASM 2.0;\nqreg q[1;\n")
    (folder / "c.qasm").write_bytes(b"")
    source = open_source([folder])
    assert len(source) == 3 and source.names(0, 3) == ["a", "b", "c"]
    assert [f.error is not None for f in source.files] == [False, True, True]
    with pytest.raises(InputError, match=r"invalid OpenQASM 2 file .*b\.qasm"):
        source.load(1, 2)
    restored = reopen_source([InputFile.from_dict(json.loads(json.dumps(f.to_dict()))) for f in source.files])
    with pytest.raises(InputError, match="empty file"):
        restored.load(2, 3)
    assert restored.load(0, 1)[0].name == "a"
    with pytest.raises(InputError, match="invalid OpenQASM 2 file"):  # given alone, it is an input error
        open_source([folder / "b.qasm"])


def test_names_that_need_the_circuits_are_not_planned(tmp_path, circuits):
    """A QPY file before version 12 names its circuits only inside them: no names at plan time
    (they are recorded when the chunk runs). Injected here, as this Qiskit writes QPY 13+."""
    (tmp_path / "bell.qasm").write_text(QASM2)
    source = open_source([_write_qpy(tmp_path / "c.qpy", circuits[:4]), tmp_path / "bell.qasm"])
    source._readers[0].names_are_cheap = False
    assert source.plan_names(4, 5) == ["bell"]
    assert source.plan_names(3, 5) is None and source.plan_names(0, 2) is None
    assert source.names(3, 5) == [circuits[3].name, "bell"]
