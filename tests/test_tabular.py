"""A set's result as a table (Parquet, pandas): the same rows as the CSV export, built a
batch at a time from a real Aer run."""

from __future__ import annotations

import csv
import io

import pytest
from qiskit import QuantumCircuit

from jobman import tabular
from jobman.inputs import make_basis_circuits
from jobman.manager import JobManager

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    bare = QuantumCircuit(2, name="bare")  # no measurement: fails alone, one row without counts
    bare.h(0)
    coin = QuantumCircuit(3, name="coin")  # two outcomes
    coin.h(0)
    coin.measure_all()
    circuits = make_basis_circuits(5, 3) + [bare]
    circuits[1] = coin
    store = tmp_path_factory.mktemp("tab") / "store"
    return JobManager(store).run(circuits, shots=64, seed=3, chunk_size=2).result()


def _csv_rows(result) -> list[tuple]:
    from jobman.cli.export import _circuits, write_csv

    stream = io.StringIO()
    write_csv(stream, None, _circuits(result, False))
    rows = list(csv.reader(io.StringIO(stream.getvalue())))[1:]
    return [(int(i), n or None, s, o or None, int(c) if c else None, e or None) for i, n, s, o, c, e in rows]


def test_parquet_holds_the_csv_table(result, tmp_path):
    path = tmp_path / "r.parquet"
    rows = tabular.write_parquet(result.circuits(), path)
    table = pq.read_table(path)
    assert table.schema == tabular.schema() and table.num_rows == rows == 7
    assert [tuple(r.values()) for r in table.to_pylist()] == _csv_rows(result)
    bare = table.to_pylist()[-1]
    assert bare["name"] == "bare" and bare["status"] == "ERROR" and bare["count"] is None
    assert bare["error"].startswith("circuit has no measurements")


def test_to_pandas_gives_the_same_rows_with_nullable_counts(result):
    frame = result.to_pandas()
    assert list(frame.columns) == list(tabular.COLUMNS)
    assert str(frame["count"].dtype) == "Int64"
    counts = frame[frame["index"] == 1].set_index("outcome")["count"].to_dict()
    assert counts == result.get_counts(1) and sum(counts.values()) == 64
    assert frame["count"].isna().sum() == 1


def test_batches_are_bounded_and_read_the_circuits_lazily(result):
    taken = []

    def circuits():
        for circuit in result.circuits():
            taken.append(circuit.index)
            yield circuit

    stream = tabular.batches(circuits(), rows=2)
    first = next(stream)
    assert first.num_rows == 3 and taken == [0, 1]  # circuit 1 has two outcomes; none read beyond
    rest = list(stream)
    assert all(b.num_rows <= 3 for b in rest)  # a circuit's outcomes stay in one batch
    assert sum(b.num_rows for b in [first, *rest]) == 7


def test_without_pyarrow_the_error_says_what_to_install(monkeypatch, result):
    import sys

    from jobman.exceptions import JobmanError

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(JobmanError, match=r"pip install 'jobman\[parquet\]'"):
        result.to_pandas()
