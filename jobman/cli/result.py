"""``jobman result``: the counts of circuits, by index, range, list or name."""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import (CIRCUITS_PANEL, OUTPUT_PANEL, JsonOption, SetArgument, StoreOption, app, flag,
                            open_store, terminal)


@app.command("result")
def result_command(
    set_id: SetArgument = None,
    circuit: Annotated[str, typer.Option("--circuit", "-c", metavar="SPEC", show_default=False,
                       help="42, 100-199, 10- (to the last), 1,5,9-12, a circuit name, or name:42 for a "
                       "circuit named 42.",
                       rich_help_panel=CIRCUITS_PANEL)] = ...,
    json_out: JsonOption = False,
    top: Annotated[Optional[int], typer.Option("--top", "-t", metavar="N", min=1, help="Only the N most "
                   "frequent outcomes of each circuit.", rich_help_panel=OUTPUT_PANEL)] = None,
    memory: Annotated[bool, flag("--memory", help="Include per-shot outcomes (the set must have been run "
                                 "with --memory).")] = False,
    store: StoreOption = None,
) -> int:
    """Print the result of circuits of a job set; exit 3 if one of them has none.

    JSON Lines with --json: index, name, status, counts, error (and memory).

    Example: jobman result --circuit 100- --top 3
    """
    from jobman.exceptions import CircuitIndexError, JobmanError
    from jobman.result import ManagedResult
    from jobman.spec import parse_spec, unique_names

    set_store = open_store(store).open_set(set_id)
    if memory and not set_store.record.options.get("memory"):
        raise JobmanError(f"job set {set_store.id} was run without --memory: no per-shot outcomes "
                          "were kept (run it again with --memory)")
    result = ManagedResult(set_store)
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
    rows = sorted(item.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = [head] + [f"  {bits} {count}" for bits, count in rows]
    if memory and item.memory is not None:
        spaced = any(" " in shot for shot in item.memory)  # registers apart: commas between shots
        lines.append("  memory: " + (", " if spaced else " ").join(item.memory))
    return "\n".join(lines)
