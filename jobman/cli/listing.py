"""``jobman list``: the job sets in the store, newest first."""

from __future__ import annotations

import time

from jobman.cli.app import JsonOption, StoreOption, app, open_store, terminal


@app.command("list")
def list_command(json_out: JsonOption = False, store: StoreOption = None) -> int:
    """List the job sets in the store, newest first.

    Example: jobman list --json
    """
    from jobman.summary import summarize

    rows = []
    for set_store in open_store(store).list_sets():
        s = summarize(set_store)
        rows.append({key: s[key] for key in ("id", "name", "status", "backend", "total", "created",
                                              "circuits")})
    if json_out:
        terminal.json_lines(rows)
        return 0
    for row in rows:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created"]))
        done = row["circuits"].get("DONE", 0)
        terminal.data(f"{row['id']}  {row['status']:<9} {done}/{row['total']:<8} {row['backend']:<12} "
                      f"{created}  {row['name']}")
    return 0
