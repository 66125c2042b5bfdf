"""Options that say where Aer chunks run (and where fake/IBM chunks are transpiled): ``--executor``,
``--ray-address``, ``--ray-num-cpus``.

Shared by ``run``, ``resume`` and ``retry``. Nothing here imports Ray: the Ray backend is
imported only when a set runs with ``--executor ray``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

import typer
from typing_extensions import Annotated

CLUSTER_PANEL = "Cluster"

ExecutorOption = Annotated[Optional[str], typer.Option(
    "--executor", metavar="local|ray", help="Where Aer chunks run, or where fake/IBM "
    "chunks are transpiled (then submitted from here): worker processes here (local, the default) or "
    "tasks on a Ray cluster (ray; needs the ray extra of jobman), e.g. --executor ray.",
    rich_help_panel=CLUSTER_PANEL)]
RayAddressOption = Annotated[Optional[str], typer.Option(
    "--ray-address", metavar="ADDR", help="Ray cluster to use with --executor ray, e.g. --ray-address "
    "10.0.0.5:6379 (default: Ray's RAY_ADDRESS, else a new local Ray).", rich_help_panel=CLUSTER_PANEL)]
RayNumCpusOption = Annotated[Optional[int], typer.Option(
    "--ray-num-cpus", min=1, metavar="N", help="CPUs per Ray task of Aer chunks (Aer threads), e.g. --ray-num-cpus 4 "
    "(default 1).", rich_help_panel=CLUSTER_PANEL)]


def executor_options(executor: Optional[str], ray_address: Optional[str],
                     ray_num_cpus: Optional[int]) -> dict[str, Any]:
    """The backend keyword options the flags give (only those given)."""
    from jobman.backends import EXECUTOR_CHOICES
    from jobman.exceptions import UsageError

    if executor is not None and executor not in EXECUTOR_CHOICES:
        raise UsageError(f"--executor must be {' or '.join(EXECUTOR_CHOICES)}, not {executor!r}")
    given = {"executor": executor, "ray_address": ray_address, "ray_num_cpus": ray_num_cpus}
    return {key: value for key, value in given.items() if value is not None}


def early_cluster(executor: Optional[str], ray_address: Optional[str],
                  ray_num_cpus: Optional[int]) -> Optional[Callable[[], None]]:
    """With ``--executor ray`` and a running cluster's address (``--ray-address`` or
    ``RAY_ADDRESS``), begin connecting to it now, before jobman imports qiskit (see
    :func:`jobman.backends.ray_executor.connect_early`); the function that drops that connection
    if the run fails before using it. None when nothing was begun."""
    address = ray_address or os.environ.get("RAY_ADDRESS")
    if executor != "ray" or not address or address == "auto" or (ray_num_cpus is not None and ray_num_cpus <= 0):
        return None
    from jobman.backends.ray_executor import connect_early, forget_early  # imports no Ray itself

    connect_early(ray_address, ray_num_cpus or 1)  # keyed as the backend's executor will ask for it
    return forget_early


def executor_flags(executor: Optional[str], ray_address: Optional[str],
                   ray_num_cpus: Optional[int]) -> list[str]:
    """The same flags again, for the background process of ``--detach``."""
    given = executor_options(executor, ray_address, ray_num_cpus)
    return [part for key, value in given.items() for part in ("--" + key.replace("_", "-"), str(value))]
