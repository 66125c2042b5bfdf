"""A set's result as a table: Parquet files and pandas DataFrames, built chunk by chunk.

One row per circuit and outcome, the columns of ``jobman export --format csv``:
``index, name, status, outcome, count, error`` (a circuit without counts has one row with a
null outcome and count). An estimator task's table has a row per point and observable instead:
``index, name, status, observable, ev, std, error`` (a point without values has one row with
nulls). Rows are gathered into Arrow record batches of at most
:data:`BATCH_ROWS`, so writing a Parquet file holds one batch in memory whatever the set's
size; a DataFrame holds the table it returns and one batch more. pyarrow and pandas are
optional extras (``pip install 'jobman[parquet]'``, ``'jobman[pandas]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterable, Iterator

from jobman.exceptions import JobmanError

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    import pyarrow

    from jobman.result import CircuitResult

COLUMNS = ("index", "name", "status", "outcome", "count", "error")
#: The columns of an estimator task's table (``observable``: its place in the PUB's flat list).
ESTIMATOR_COLUMNS = ("index", "name", "status", "observable", "ev", "std", "error")
#: Rows per Arrow record batch (and Parquet row group).
BATCH_ROWS = 65_536


def _arrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise JobmanError("this needs pyarrow: pip install 'jobman[parquet]'") from None
    return pyarrow


def schema(estimates: bool = False) -> "pyarrow.Schema":
    """The table's Arrow schema (``estimates``: an estimator task's)."""
    pa = _arrow()
    if estimates:
        return pa.schema([("index", pa.int64()), ("name", pa.string()), ("status", pa.string()),
                          ("observable", pa.int64()), ("ev", pa.float64()), ("std", pa.float64()),
                          ("error", pa.string())])
    return pa.schema([("index", pa.int64()), ("name", pa.string()), ("status", pa.string()),
                      ("outcome", pa.string()), ("count", pa.int64()), ("error", pa.string())])


def batches(circuits: Iterable["CircuitResult"], rows: int = BATCH_ROWS, estimates: bool = False
            ) -> Iterator["pyarrow.RecordBatch"]:
    """The circuits' rows as record batches of at most ``rows`` rows, in index order."""
    pa = _arrow()
    table_schema = schema(estimates)
    names = ESTIMATOR_COLUMNS if estimates else COLUMNS
    columns: dict[str, list[Any]] = {name: [] for name in names}

    def flush() -> "pyarrow.RecordBatch":
        batch = pa.RecordBatch.from_pydict(columns, schema=table_schema)
        for values in columns.values():
            values.clear()
        return batch

    for circuit in circuits:
        for row in (_estimate_rows(circuit) if estimates else _count_rows(circuit)):
            for name, value in zip(names, row):
                columns[name].append(value)
        if len(columns["index"]) >= rows:
            yield flush()
    if columns["index"]:
        yield flush()


def _count_rows(circuit: "CircuitResult") -> Iterator[tuple[Any, ...]]:
    """A row per outcome, in outcome order; one with a null outcome for a circuit without counts."""
    outcomes = sorted(circuit.counts.items()) if circuit.counts is not None else [(None, None)]
    for outcome, count in outcomes:
        yield circuit.index, circuit.name, circuit.status.value, outcome, count, circuit.error


def _estimate_rows(circuit: "CircuitResult") -> Iterator[tuple[Any, ...]]:
    """A row per observable of the point's PUB; one with nulls for a point without values."""
    if circuit.evs is None:
        yield circuit.index, circuit.name, circuit.status.value, None, None, None, circuit.error
        return
    for k, (ev, std) in enumerate(zip(circuit.evs, circuit.stds or [None] * len(circuit.evs))):
        if ev is not None:  # None: an observable the PUB's result does not take at this point
            yield circuit.index, circuit.name, circuit.status.value, k, ev, std, circuit.error


def write_parquet(circuits: Iterable["CircuitResult"], sink: "str | Path | BinaryIO",
                  estimates: bool = False) -> int:
    """Write the circuits' table to a Parquet file; return how many rows were written."""
    _arrow()
    import pyarrow.parquet as pq

    written = 0
    with pq.ParquetWriter(sink, schema(estimates)) as writer:
        for batch in batches(circuits, estimates=estimates):
            writer.write_batch(batch)
            written += batch.num_rows
    return written


def to_pandas(circuits: Iterable["CircuitResult"], estimates: bool = False) -> "pandas.DataFrame":
    """The circuits' table as a DataFrame (``count`` and ``observable`` nullable, for circuits
    without counts or values)."""
    pa = _arrow()
    try:
        import pandas  # noqa: F401  (to_pandas below needs it)
    except ImportError:
        raise JobmanError("this needs pandas: pip install 'jobman[pandas]'") from None
    table = pa.Table.from_batches(list(batches(circuits, estimates=estimates)), schema=schema(estimates))
    return table.to_pandas(types_mapper={pa.int64(): pandas.Int64Dtype()}.get)
