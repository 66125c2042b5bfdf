"""``jobman check``: verify job sets against their files and say what ``resume`` would repair."""

from __future__ import annotations

from typing import Any, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import JsonOption, StoreOption, app, complete_set_ids, open_store, terminal
from jobman.cli.errors import EXIT_DAMAGED


@app.command("check")
def check_command(
    set_id: Annotated[Optional[str], typer.Argument(
        metavar="SET", help="Job set id, unique id prefix or name (default: every set).",
        show_default=False, autocompletion=complete_set_ids)] = None,
    json_out: JsonOption = False,
    store: StoreOption = None,
) -> int:
    """Verify job sets: chunk records against results, counts against shots.

    Exit 0 when every set checked is sound; 5 with the findings otherwise, each naming the
    file, the fault and what `jobman resume` repairs (it re-runs circuits whose results are
    missing or unreadable; a damaged record it cannot repair).

    Example: jobman check 20261121-0945 --json
    """
    opened = open_store(store)
    folders = opened.set_ids() if set_id is None else [opened.resolve(set_id)]
    damaged = 0
    for folder in folders:
        report = _report(folder, opened.try_open(folder))
        damaged += not report["ok"]
        if json_out:
            terminal.json(report)
        else:
            terminal.data(_render(report))
    if not folders:
        terminal.info(f"no job sets in {opened.root}")
    return EXIT_DAMAGED if damaged else 0


def _report(folder: str, opened: Any) -> dict[str, Any]:
    """``{"id", "ok", "findings": [...]}`` for one set (opened, or the error opening it)."""
    from jobman.check import Finding, check_set
    from jobman.exceptions import StoreError

    report: dict[str, Any] = {"id": folder}
    if isinstance(opened, StoreError):
        findings = [Finding(folder, str(opened))]
    else:
        try:
            findings = check_set(opened)
        except StoreError as error:
            findings = [Finding(folder, str(error))]
        report.update(total=opened.record.total, num_chunks=opened.record.num_chunks)
        if opened.is_copy:
            report["copy_of"] = opened.recorded_id
    report.update(ok=not findings, findings=[f.to_dict() for f in findings])
    return report


def _render(report: dict[str, Any]) -> str:
    copy = f" (a copy of {report['copy_of']})" if report.get("copy_of") else ""
    if report["ok"]:
        return (f"{report['id']}{copy}: sound ({report['total']} circuits in "
                f"{report['num_chunks']} chunks)")
    findings = report["findings"]
    lines = [f"{report['id']}{copy}: {len(findings)} problem{'s' if len(findings) != 1 else ''}"]
    lines += [f"  {f['file']}: {f['fault']} ({f['repair']})" for f in findings]
    return "\n".join(lines)
