"""``jobman result``: the counts of circuits, by index, range, list or name; or one PUB's data."""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import (CIRCUITS_PANEL, OUTPUT_PANEL, JsonOption, SetArgument, StoreOption, app, flag,
                            open_store, terminal)


@app.command("result")
def result_command(
    set_id: SetArgument = None,
    circuit: Annotated[Optional[str], typer.Option("--circuit", "-c", metavar="SPEC", show_default=False,
                       help="42, 100-199, 10- (to the last), 1,5,9-12, a circuit name, or name:42 for a "
                       "circuit named 42.",
                       rich_help_panel=CIRCUITS_PANEL)] = None,
    pub: Annotated[Optional[int], typer.Option("--pub", "-P", metavar="P", show_default=False,
                   help="PUB P of a sweep or estimator task: its shape and data (counts per point, "
                   "or evs and stds).", rich_help_panel=CIRCUITS_PANEL)] = None,
    json_out: JsonOption = False,
    top: Annotated[Optional[int], typer.Option("--top", "-t", metavar="N", min=1, help="Only the N most "
                   "frequent outcomes of each circuit.", rich_help_panel=OUTPUT_PANEL)] = None,
    memory: Annotated[bool, flag("--memory", help="Include per-shot outcomes (the set must have been run "
                                 "with --memory).")] = False,
    store: StoreOption = None,
) -> int:
    """Print circuits' results, or one PUB's data; exit 3 if one has none.

    JSON Lines with --json: index, name, status, counts, error (and memory); with --pub one
    object: pub, kind, shape, status, errors, and counts per point or evs and stds.

    Example: jobman result --circuit 100- --top 3

    Example: jobman result --pub 0 --json
    """
    from jobman.exceptions import CircuitIndexError, JobmanError, UsageError
    from jobman.result import ManagedResult
    from jobman.spec import parse_spec, unique_names

    if (circuit is None) == (pub is None):  # as click says a missing option, with where help is
        said = "Missing option '--circuit' / '-c' (or '--pub')." if circuit is None else \
            "Give --circuit or --pub, not both."
        raise UsageError(f"{said}\nTry 'jobman result --help' for help.")
    set_store = open_store(store).open_set(set_id)
    if pub is not None:
        if memory or top is not None:
            raise UsageError("--memory, --top: only with --circuit")
        return _show_pub(set_store, pub, json_out)
    if memory and not set_store.record.options.get("memory"):
        raise JobmanError(f"job set {set_store.id} was run without --memory: no per-shot outcomes "
                          "were kept (run it again with --memory)")
    result = ManagedResult(set_store)
    assert circuit is not None
    try:
        indices = parse_spec(circuit, len(result), unique_names(set_store.find_names))
    except CircuitIndexError as error:
        if str(error).startswith("no circuit named") and set_store.unnamed_chunks():
            raise CircuitIndexError(f"{error} (this set does not record the names of circuits that "
                                    "have not run yet; they are known once they run)") from None
        raise
    missing = 0
    for index in indices:
        item = result.circuit(index, memory=memory)
        if top is not None and item.counts is not None:
            item.counts = dict(sorted(item.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top])
        missing += item.counts is None
        if json_out:
            terminal.json(item.to_dict(memory=memory))
        else:
            terminal.data(_render(item, memory))
    return 3 if missing else 0


def _render(item, memory: bool) -> str:
    head = f"circuit {item.index}" + (f" ({item.name})" if item.name else "") + f": {item.status.value}"
    if item.counts is None:
        return head + (f": {item.error}" if item.error else "")
    if item.evs is not None:  # a point of an estimator PUB
        return "\n".join([head, "  evs: " + " ".join(map(_value, item.evs)),
                          "  stds: " + " ".join(map(_value, item.stds))])
    rows = sorted(item.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = [head] + [f"  {bits} {count}" for bits, count in rows]
    if memory and item.memory is not None:
        spaced = any(" " in shot for shot in item.memory)  # registers apart: commas between shots
        lines.append("  memory: " + (", " if spaced else " ").join(item.memory))
    return "\n".join(lines)


def _show_pub(set_store, number: int, json_out: bool) -> int:
    """PUB ``number``'s data (see :mod:`jobman.pub_data`); 3 when some point has no result."""
    from jobman.pub_data import read_pub

    data = read_pub(set_store, number)
    if json_out:
        terminal.json(data.to_dict())
    else:
        terminal.data(_render_pub(data))
    return 0 if data.status.value == "DONE" else 3


def _render_pub(data) -> str:
    head = (f"pub {data.pub}" + (f" ({data.name})" if data.name else "")
            + f": {data.status.value}, {data.kind}, shape {tuple(data.shape)}, {data.record.size} point"
            + ("s" if data.record.size != 1 else ""))
    lines = [head]
    for error in data.errors[:5]:
        lines.append(f"  point {error['index']}: {error['status']}" + (f": {error['error']}" if error["error"] else ""))
    if len(data.errors) > 5:
        lines.append(f"  ... {len(data.errors) - 5} more (jobman status --failures)")
    if data.evs is not None:
        import numpy as np

        if data.observables:
            lines.append("  observables: " + ", ".join(data.observables))
        with np.printoptions(precision=6, suppress=True, threshold=200):
            lines += ["  evs: " + _indented(np.array2string(data.evs)), "  stds: " + _indented(np.array2string(data.stds))]
    elif data.counts is not None:
        for position, counts in _points(data.counts, ()):
            shown = " ".join(f"{bits}:{count}" for bits, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"  {list(position)}: {shown}")
    return "\n".join(lines)


def _indented(text: str) -> str:
    return text.replace("\n", "\n        ")


def _points(nested, position: tuple):
    """(position, counts) of nested lists of counts, in C order."""
    if isinstance(nested, dict):
        yield position, nested
        return
    for k, item in enumerate(nested):
        yield from _points(item, (*position, k))


def _value(value: float | None) -> str:
    """A point's ev or std; ``-`` for an observable its PUB's result does not take there."""
    return "-" if value is None else repr(value)
