"""Backend names known without importing qiskit, for shell completion (``--backend <Tab>``).

:data:`FAKE_DEVICES` is qiskit-ibm-runtime's fake devices with their qubits: a static table, so a
TAB never loads the client; ``tests/test_backend_names.py`` checks it against the installed
client's fake provider, and ``python -m jobman.backend_names`` prints the table to paste here.
The account's devices are remembered by ``jobman backends`` when it lists them, in
``.backends-cache.json`` at the store root (:func:`remember_account_devices`), and offered
from there (:func:`known_backends`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable

from jobman.log import swallowed
from jobman.paths import default_root

#: qiskit-ibm-runtime 0.51's fake devices (``FakeProviderForBackendV2``): name -> qubits.
FAKE_DEVICES: dict[str, int] = {
    "fake_aachen": 156, "fake_algiers": 27, "fake_almaden": 20, "fake_armonk": 1, "fake_athens": 5,
    "fake_auckland": 27, "fake_belem": 5, "fake_berlin": 120, "fake_boeblingen": 20,
    "fake_bogota": 5, "fake_boston": 156, "fake_brisbane": 127, "fake_brooklyn": 65,
    "fake_brussels": 127, "fake_burlington": 5, "fake_cairo": 27, "fake_cambridge": 28,
    "fake_casablanca": 7, "fake_cusco": 127, "fake_essex": 5, "fake_fez": 156, "fake_fractional": 5,
    "fake_geneva": 27, "fake_guadalupe": 16, "fake_hanoi": 27, "fake_jakarta": 7,
    "fake_johannesburg": 20, "fake_kawasaki": 127, "fake_kingston": 156, "fake_kolkata": 27,
    "fake_kyiv": 127, "fake_kyoto": 127, "fake_lagos": 7, "fake_lima": 5, "fake_london": 5,
    "fake_manhattan": 65, "fake_manila": 5, "fake_marrakesh": 156, "fake_melbourne": 15,
    "fake_miami": 120, "fake_montreal": 27, "fake_mumbai": 27, "fake_nairobi": 7,
    "fake_nighthawk": 120, "fake_osaka": 127, "fake_oslo": 7, "fake_ourense": 5, "fake_paris": 27,
    "fake_peekskill": 27, "fake_perth": 7, "fake_pittsburgh": 156, "fake_poughkeepsie": 20,
    "fake_prague": 33, "fake_quebec": 127, "fake_quito": 5, "fake_rochester": 53, "fake_rome": 5,
    "fake_santiago": 5, "fake_sherbrooke": 127, "fake_singapore": 20, "fake_strasbourg": 127,
    "fake_sydney": 27, "fake_torino": 133, "fake_toronto": 27, "fake_valencia": 5, "fake_vigo": 5,
    "fake_washington": 127, "fake_yorktown": 5,
}

#: The file at the store root where ``jobman backends`` remembers the account's devices.
CACHE_NAME = ".backends-cache.json"


def cache_file(root: Path | None = None) -> Path:
    """Where the account's devices are remembered: ``<store root>/.backends-cache.json``."""
    return (root if root is not None else default_root()) / CACHE_NAME


def remember_account_devices(account: str | None, instance: str | None,
                             devices: Iterable[tuple[str, int | None]], root: Path | None = None) -> bool:
    """Remember the devices ``account`` (None: the default one) sees, for completion; best
    effort (a cache that cannot be written is no error). Whether it was written."""
    from jobman.exceptions import StoreError
    from jobman.fsio import make_folder, write_json

    path = cache_file(root)
    accounts = _read_accounts(path)
    accounts[f"{account or ''}|{instance or ''}"] = {
        "account": account, "instance": instance, "updated": time.time(),
        "devices": [[name, qubits] for name, qubits in devices]}
    try:
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        make_folder(path.parent)
        write_json(path, {"version": 1, "accounts": accounts}, sync=False)
    except (OSError, StoreError) as error:
        swallowed(f"remembering the account's devices in {path}", error)
        return False
    return True


def known_backends(fake_only: bool = False, root: Path | None = None) -> list[tuple[str, str]]:
    """``(name, description)`` of every backend known without asking anyone: ``aer``, the fake
    devices and (unless ``fake_only``) the devices of the accounts ``jobman backends`` listed."""
    if fake_only:
        return [(name, f"fake device, {qubits} qubits") for name, qubits in FAKE_DEVICES.items()]
    known = [("aer", "local simulator")] + known_backends(True)
    seen = {name for name, _ in known}
    for entry in _read_accounts(cache_file(root)).values():
        whose = f"account {entry.get('account')}" if entry.get("account") else "default account"
        for device in entry.get("devices") or []:
            if _is_device(device) and device[0] not in seen:
                seen.add(device[0])
                qubits = f", {device[1]} qubits" if isinstance(device[1], int) else ""
                known.append((device[0], f"IBM device ({whose}{qubits})"))
    return known


def _read_accounts(path: Path) -> dict[str, Any]:
    """The cache's accounts; nothing when it is absent or not what jobman wrote."""
    from jobman.fsio import read_json

    try:
        data = read_json(path)
    except FileNotFoundError:
        return {}
    except Exception as error:  # unreadable, a link, not JSON: a cache is never an error
        swallowed(f"reading {path}", error)
        return {}
    accounts = data.get("accounts") if isinstance(data, dict) else None
    return {k: v for k, v in accounts.items() if isinstance(v, dict)} if isinstance(accounts, dict) else {}


def _is_device(device: Any) -> bool:
    return (isinstance(device, list) and len(device) == 2 and isinstance(device[0], str)
            and device[0].isprintable() and " " not in device[0] and device[0] != "")


def render_fake_devices() -> str:
    """The :data:`FAKE_DEVICES` table of the installed qiskit-ibm-runtime, as Python source."""
    from jobman.backends.ibm_service import fake_rows

    items = [f' "{row.name}": {row.num_qubits},' for row in fake_rows()]
    lines, line = ["{"], "   "
    for item in items:
        if len(line) + len(item) > 100:
            lines.append(line)
            line = "   "
        line += item
    return "\n".join(lines + [line, "}"])


if __name__ == "__main__":
    print(render_fake_devices())
