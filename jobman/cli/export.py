"""``jobman export``: the whole merged result as JSON Lines, CSV, JSON or Parquet, chunk by chunk.

Only one chunk's results are in memory at a time, so a set of a million circuits exports
in the memory of one chunk.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterator, Literal, Optional, TextIO

import typer
from typing_extensions import Annotated

from jobman.cli.app import OUTPUT_PANEL, SetArgument, StoreOption, app, flag, open_store, terminal
from jobman.cli.destination import open_output
from jobman.cli.output import to_json
from jobman.exceptions import UsageError
from jobman.tabular import COLUMNS as CSV_COLUMNS
from jobman.tabular import ESTIMATOR_COLUMNS


@app.command("export")
def export_command(
    set_id: SetArgument = None,
    fmt: Annotated[Literal["jsonl", "csv", "json", "parquet"], typer.Option(
        "--format", "-f", help="jsonl: one circuit a line; csv: one row per circuit and outcome; "
        "json: one document; parquet: csv's table as a Parquet file (needs pyarrow and -o).",
        rich_help_panel=OUTPUT_PANEL)] = "jsonl",
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write to FILE instead of stdout: a regular file is "
        "replaced atomically (all or nothing); a FIFO or device such as /dev/null is written into; "
        "a symbolic link is refused.", rich_help_panel=OUTPUT_PANEL)] = None,
    memory: Annotated[bool, flag("--memory", help="Include per-shot outcomes (jsonl and json; the "
                                 "set must have been run with --memory).")] = False,
    store: StoreOption = None,
) -> int:
    """Export a job set's merged result as JSON Lines, CSV, JSON or Parquet.

    Per circuit (a sweep's: per point): index, name, status, counts (outcome and count in CSV),
    error, and with --memory the per-shot outcomes; an estimator task's points have evs and
    stds (one per observable of the PUB; in CSV a row per observable).

    Example: jobman export --format csv --output results.csv
    """
    from jobman.result import ManagedResult

    if memory and fmt in ("csv", "parquet"):
        raise UsageError(f"--memory needs --format jsonl or json; {fmt.upper()} has one row per outcome")
    if fmt == "parquet" and (output is None or str(output) == "-"):
        raise UsageError("--format parquet needs --output FILE (a Parquet file is not a stream)")
    set_store = open_store(store).open_set(set_id)
    if fmt == "parquet":
        return _export_parquet(ManagedResult(set_store), set_store, output)
    if memory and not set_store.record.options.get("memory"):
        terminal.warn(f"job set {set_store.id} was run without --memory; memory will be null")
    circuits = _circuits(ManagedResult(set_store), memory)
    with open_output(output) as stream:
        missing = WRITERS[fmt](stream, set_store, circuits)
    if missing:
        terminal.warn(f"{missing} of {set_store.record.total} circuits have no counts "
                      f"(see `jobman status {set_store.id}`)")
    if output is not None:
        terminal.info(f"wrote {set_store.record.total} circuits to {output}")
    return 0


def _export_parquet(result: Any, set_store: Any, output: Path) -> int:
    """The table of ``--format csv`` as a Parquet file, replaced atomically (a batch in memory)."""
    from jobman.tabular import write_parquet

    with open_output(output, binary=True) as stream:
        if not hasattr(stream, "seek") or not stream.seekable():
            raise UsageError(f"--format parquet needs a regular file, not {output}")
        rows = write_parquet(result.circuits(), stream, estimates=set_store.record.is_estimator_task)
    terminal.info(f"wrote {set_store.record.total} circuits ({rows} rows) to {output}")
    return 0


def _circuits(result: Any, memory: bool) -> Iterator[dict[str, Any]]:
    """Every circuit as a dict, in index order, reading one chunk's files at a time."""
    for item in result.circuits(memory=memory):
        row = item.to_dict(memory=memory)
        row["counts"] = dict(sorted(row["counts"].items())) if row["counts"] is not None else None
        yield row


def write_jsonl(stream: TextIO, set_store: Any, circuits: Iterator[dict[str, Any]]) -> int:
    """One JSON object per circuit per line; returns how many circuits had no counts."""
    missing = 0
    for row in circuits:
        missing += row["counts"] is None
        stream.write(to_json(row) + "\n")
    return missing


def write_json(stream: TextIO, set_store: Any, circuits: Iterator[dict[str, Any]]) -> int:
    """One JSON document ``{"id", "name", "total", "usage", "circuits": [...]}``, written as it
    goes; ``usage`` has the set's totals and each chunk's reported seconds."""
    from jobman.estimate import chunk_usage, total_usage

    record = set_store.record
    chunks = set_store.chunks()
    head = {"id": record.id, "name": record.name, "total": record.total,
            "usage": dict(total_usage(a for c in chunks for a in c.attempts),
                          chunks=[{"chunk": c.index, "start": c.start, "stop": c.stop,
                                   "usage_seconds": chunk_usage(c.attempts)} for c in chunks])}
    stream.write(to_json(head)[:-1] + ',"circuits":[')
    missing = 0
    for position, row in enumerate(circuits):
        missing += row["counts"] is None
        stream.write(("\n" if position == 0 else ",\n") + to_json(row))
    stream.write("\n]}\n")
    return missing


def write_csv(stream: TextIO, set_store: Any, circuits: Iterator[dict[str, Any]]) -> int:
    """Columns index,name,status,outcome,count,error: a row per outcome, one for a circuit without;
    for an estimator task index,name,status,observable,ev,std,error: a row per point and observable."""
    writer = csv.writer(stream, lineterminator="\n")
    estimates = set_store is not None and set_store.record.is_estimator_task
    writer.writerow(ESTIMATOR_COLUMNS if estimates else CSV_COLUMNS)
    missing = 0
    for row in circuits:
        head = (row["index"], row["name"] or "", row["status"])
        if estimates and row.get("evs") is not None:
            for k, (ev, std) in enumerate(zip(row["evs"], row["stds"])):
                if ev is not None:  # None: an observable the PUB's result does not take here
                    writer.writerow(head + (k, repr(ev), repr(std), row["error"] or ""))
            continue
        if row["counts"] is None:
            missing += 1
            writer.writerow(head + ("", "", row["error"] or ""))
            continue
        for outcome, count in row["counts"].items():
            writer.writerow(head + (outcome, count, row["error"] or ""))
    return missing


WRITERS = {"jsonl": write_jsonl, "json": write_json, "csv": write_csv}
