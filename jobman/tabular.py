"""A set's result as a table: Parquet files and pandas DataFrames, built chunk by chunk.

One row per circuit and outcome, the columns of ``jobman export --format csv``:
``index, name, status, outcome, count, error`` (a circuit without counts has one row with a
null outcome and count). Rows are gathered into Arrow record batches of at most
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
#: Rows per Arrow record batch (and Parquet row group).
BATCH_ROWS = 65_536


def _arrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise JobmanError("this needs pyarrow: pip install 'jobman[parquet]'") from None
    return pyarrow


def schema() -> "pyarrow.Schema":
    """The table's Arrow schema."""
    pa = _arrow()
    return pa.schema([("index", pa.int64()), ("name", pa.string()), ("status", pa.string()),
                      ("outcome", pa.string()), ("count", pa.int64()), ("error", pa.string())])


def batches(circuits: Iterable["CircuitResult"], rows: int = BATCH_ROWS) -> Iterator["pyarrow.RecordBatch"]:
    """The circuits' rows as record batches of at most ``rows`` rows, in index order."""
    pa = _arrow()
    table_schema = schema()
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}

    def flush() -> "pyarrow.RecordBatch":
        batch = pa.RecordBatch.from_pydict(columns, schema=table_schema)
        for values in columns.values():
            values.clear()
        return batch

    for circuit in circuits:
        outcomes = sorted(circuit.counts.items()) if circuit.counts is not None else [(None, None)]
        for outcome, count in outcomes:
            columns["index"].append(circuit.index)
            columns["name"].append(circuit.name)
            columns["status"].append(circuit.status.value)
            columns["outcome"].append(outcome)
            columns["count"].append(count)
            columns["error"].append(circuit.error)
        if len(columns["index"]) >= rows:
            yield flush()
    if columns["index"]:
        yield flush()


def write_parquet(circuits: Iterable["CircuitResult"], sink: "str | Path | BinaryIO") -> int:
    """Write the circuits' table to a Parquet file; return how many rows were written."""
    _arrow()
    import pyarrow.parquet as pq

    written = 0
    with pq.ParquetWriter(sink, schema()) as writer:
        for batch in batches(circuits):
            writer.write_batch(batch)
            written += batch.num_rows
    return written


def to_pandas(circuits: Iterable["CircuitResult"]) -> "pandas.DataFrame":
    """The circuits' table as a DataFrame (``count`` nullable, for circuits without counts)."""
    pa = _arrow()
    try:
        import pandas  # noqa: F401  (to_pandas below needs it)
    except ImportError:
        raise JobmanError("this needs pandas: pip install 'jobman[pandas]'") from None
    table = pa.Table.from_batches(list(batches(circuits)), schema=schema())
    return table.to_pandas(types_mapper={pa.int64(): pandas.Int64Dtype()}.get)
