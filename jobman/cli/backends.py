"""``jobman backends``: where circuits can run, with qubits, limits and queue lengths."""

from __future__ import annotations

from typing import Any, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import JsonOption, app, terminal
from jobman.cli.errors import EXIT_ERROR, EXIT_OK
from jobman.cli.checks import finite

ACCOUNT_PANEL = "Account"
#: The keys of a row that the table shows.
COLUMNS = ("name", "source", "num_qubits", "pending_jobs", "operational", "status", "max_executions",
           "max_payload_bytes")
HEADER = f"{'NAME':<28} {'SOURCE':<6} {'QUBITS':>6} {'QUEUE':>6}  {'MAX EXECUTIONS':>14}  {'MAX UPLOAD':>10}  STATUS"


@app.command("backends")
def backends_command(
    account: Annotated[Optional[str], typer.Option("--account", metavar="NAME", help="Saved "
                       "qiskit-ibm-runtime account whose backends to list, e.g. --account work.",
                       rich_help_panel=ACCOUNT_PANEL)] = None,
    instance: Annotated[Optional[str], typer.Option("--instance", metavar="CRN", help="IBM Quantum "
                        "instance (CRN or name), e.g. --instance my-instance.",
                        rich_help_panel=ACCOUNT_PANEL)] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=1, callback=finite,
                       help="Give up on IBM "
                       "Quantum after this long, e.g. --timeout 10.", rich_help_panel=ACCOUNT_PANEL)] = 60,
    json_out: JsonOption = False,
) -> int:
    """List backends: aer, the fake IBM devices and the IBM account's devices.

    Other backend plug-ins add their own lines.
    The account comes from --account/--instance, the QISKIT_IBM_* variables or the default saved
    account; without one, only the local backends are listed (and a note says why). The
    account's device names are remembered for shell completion (`run --backend <Tab>`).

    Example: jobman backends --account work --json
    """
    from jobman.backends.plugins import CatalogueQuery, load_plugins
    from jobman.exceptions import JobmanError

    query = CatalogueQuery(account=account, instance=instance, timeout=timeout)
    rows: list[dict[str, Any]] = []
    code = EXIT_OK
    for name, plugin in load_plugins():
        try:
            listing = plugin.catalogue(query)
        except JobmanError as error:  # a plug-in's own failure: the others are still listed
            terminal.warn(f"backend plug-in {name}: {error}")
            code = EXIT_ERROR
            continue
        rows += listing.rows
        if listing.warning:
            terminal.warn(listing.warning)
        if listing.failed:
            code = EXIT_ERROR
    if json_out:
        terminal.json_lines(rows)
    else:
        terminal.data(HEADER)
        for row in rows:
            terminal.data(render_row(row))
    return code


def render_row(row: dict[str, Any]) -> str:
    """``fake_manila   fake        5      0      10,000,000       20 MB  active``."""
    def number(value: Any) -> str:
        return "-" if value is None else f"{value:,}"

    row = dict(dict.fromkeys(COLUMNS), **row)  # a plug-in's row may leave columns out
    upload = "-" if not row["max_payload_bytes"] else f"{row['max_payload_bytes'] / 1e6:.0f} MB"
    status = row["status"] or ("operational" if row["operational"] else "-")
    return (f"{row['name'] or '-':<28} {row['source'] or '-':<6} {number(row['num_qubits']):>6} "
            f"{number(row['pending_jobs']):>6}  {number(row['max_executions']):>14}  {upload:>10}  {status}")
