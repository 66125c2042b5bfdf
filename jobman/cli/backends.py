"""``jobman backends``: where circuits can run, with qubits, limits and queue lengths."""

from __future__ import annotations

from typing import Any, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import JsonOption, app, terminal
from jobman.cli.errors import EXIT_ERROR, EXIT_OK
from jobman.cli.checks import finite

ACCOUNT_PANEL = "Account"
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

    The account comes from --account/--instance, the QISKIT_IBM_* variables or the default saved
    account; without one, only the local backends are listed (and a note says why). The
    account's device names are remembered for shell completion (`run --backend <Tab>`).

    Example: jobman backends --account work --json
    """
    from jobman.backend_names import remember_account_devices
    from jobman.backends.ibm_service import account_rows_within, fake_rows
    from jobman.exceptions import JobmanError, UsageError

    rows = [_aer_row()] + [row.to_dict() for row in fake_rows()]
    code = EXIT_OK
    try:
        account_rows = account_rows_within(account, instance, timeout)
        rows += [row.to_dict() for row in account_rows]
        remember_account_devices(account, instance, [(row.name, row.num_qubits) for row in account_rows])
    except UsageError as error:  # no account: not an error unless one was asked for
        terminal.warn(f"{error}; listing the local backends only")
        code = EXIT_ERROR if account or instance else EXIT_OK
    except JobmanError as error:
        terminal.warn(f"{error}; listing the local backends only")
        code = EXIT_ERROR
    if json_out:
        terminal.json_lines(rows)
    else:
        terminal.data(HEADER)
        for row in rows:
            terminal.data(render_row(row))
    return code


def _aer_row() -> dict[str, Any]:
    executors = available_executors()
    return {"name": "aer", "source": "local", "num_qubits": None, "pending_jobs": None,
            "operational": True, "status": f"local simulator; --executor {'|'.join(executors)}",
            "max_executions": None, "max_payload_bytes": None, "executors": executors}


def available_executors() -> list[str]:
    """Where Aer chunks can run from the CLI: ``local``, and ``ray`` when Ray is installed
    (found without importing it)."""
    from importlib.util import find_spec

    return ["local"] + (["ray"] if find_spec("ray") is not None else [])


def render_row(row: dict[str, Any]) -> str:
    """``fake_manila   fake        5      0      10,000,000       20 MB  active``."""
    def number(value: Any) -> str:
        return "-" if value is None else f"{value:,}"

    upload = "-" if not row["max_payload_bytes"] else f"{row['max_payload_bytes'] / 1e6:.0f} MB"
    status = row["status"] or ("operational" if row["operational"] else "-")
    return (f"{row['name']:<28} {row['source']:<6} {number(row['num_qubits']):>6} "
            f"{number(row['pending_jobs']):>6}  {number(row['max_executions']):>14}  {upload:>10}  {status}")
