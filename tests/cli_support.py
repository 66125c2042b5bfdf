"""Helpers for the CLI tests: job sets written straight into a store (no qiskit), and invoking.

``make_set`` writes what the engine would have written for a set: its record, chunk
records and per-circuit results, so read-only commands can be tested in milliseconds.
Circuit ``i`` is named ``c{i}`` and measured ``i % 32`` over 5 clbits, every shot.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import pytest
from typer.testing import CliRunner

from jobman.records import Attempt, ChunkRecord, SetRecord
from jobman.status import JobStatus
from jobman.store import SetStore, Store

if TYPE_CHECKING:  # pragma: no cover
    from jobman.summary import SetSummary

#: Pinned so that asserted text does not depend on the terminal running the tests.
PLAIN_ENV = {"COLUMNS": "100", "TERMINAL_WIDTH": "100", "NO_COLOR": "1", "TERM": "dumb"}
SHOTS = 100
CREATED = 1795000000.0  # 2026-11-18, a fixed moment


def make_set(root: Path, set_id: str, *, name: str = "demo", total: int = 10, chunk_size: int = 4,
             failed: dict[int, str] | None = None, cancelled: Iterable[int] = (),
             unfinished: Iterable[int] = (), memory: bool = False) -> SetStore:
    """Write a job set: chunks in ``unfinished`` are PENDING, the others ran.

    ``failed`` maps circuit index to an error reason; circuits in ``cancelled`` were cancelled.
    """
    failed, cancelled, unfinished = dict(failed or {}), set(cancelled), set(unfinished)
    ranges = [(start, min(start + chunk_size, total)) for start in range(0, total, chunk_size)]
    record = SetRecord(id=set_id, name=name, created=CREATED,
                       inputs=[{"path": "/data/demo.qpy", "format": "qpy", "sha256": "ab" * 32,
                                "size": 2048, "count": total}],
                       backend={"name": "aer", "num_qubits": 30},
                       options={"shots": SHOTS, "seed": 7, "memory": memory, "extra": {},
                                "engine": {"max_in_flight": None, "max_retries": 3,
                                           "on_failure": "continue"}},
                       total=total, chunk_size=chunk_size, num_chunks=len(ranges))
    chunks = [ChunkRecord(index=i, start=a, stop=b) for i, (a, b) in enumerate(ranges)]
    set_store = Store(root).create_set(record, chunks, names=lambda a, b: [f"c{i}" for i in range(a, b)])
    for chunk in chunks:
        if chunk.index not in unfinished:
            finish_chunk(set_store, chunk, failed, cancelled, memory)
    return set_store


def finish_chunk(set_store: SetStore, chunk: ChunkRecord, failed: dict[int, str] | None = None,
                 cancelled: Iterable[int] = (), memory: bool = False) -> None:
    """Write chunk ``chunk``'s results and mark it final, as the engine does."""
    failed, cancelled = dict(failed or {}), set(cancelled)
    lines, shots, runs = [], [], []
    for index in range(chunk.start, chunk.stop):
        status = "ERROR" if index in failed else "CANCELLED" if index in cancelled else "DONE"
        ok = status == "DONE"
        lines.append({"index": index, "name": f"c{index}", "status": status, "num_clbits": 5,
                      "counts": {hex(index % 32): SHOTS} if ok else None,
                      "error": None if ok else failed.get(index, "cancelled by request")})
        shots.append([hex(index % 32)] * 3 if ok else None)
        if not ok:
            reason = lines[-1]["error"]
            if runs and runs[-1][1] == index and runs[-1][2] == status and runs[-1][3] == reason:
                runs[-1][1] = index + 1
            else:
                runs.append([index, index + 1, status, reason])
    set_store.write_results(chunk.index, lines, [line["name"] for line in lines],
                            shots if memory else None)
    chunk.attempts = [Attempt(1, [[chunk.start, chunk.stop]], job_id=f"fake-{chunk.index}-1",
                              submitted=CREATED + 1, finished=CREATED + 5, status="DONE")]
    chunk.failed = runs
    chunk.error = runs[0][3] if runs else None
    chunk.set_status(JobStatus.SUBMITTING, CREATED + 1)
    done = len(runs) == 0 or any(line["status"] == "DONE" for line in lines)
    final = JobStatus.DONE if done else JobStatus(runs[0][2])
    chunk.set_status(final, CREATED + 5 + chunk.index)
    set_store.save_chunk(chunk)


def invoke(*args: str, store: Path | None = None, input: str | None = None,
           env: dict[str, str] | None = None) -> Any:
    """Run ``jobman ARGS`` in-process through the real command group; stdout and stderr apart."""
    from jobman.cli import app

    full_env = dict(PLAIN_ENV)
    if store is not None:
        full_env["JOBMAN_HOME"] = str(store)
    full_env.update(env or {})
    return CliRunner().invoke(app, list(args), input=input, env=full_env, prog_name="jobman")


def subprocess_env(store: Path | None = None) -> dict[str, str]:
    """Environment for real ``jobman`` subprocesses: this Python's scripts first on PATH."""
    env = dict(os.environ, **PLAIN_ENV)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    if store is not None:
        env["JOBMAN_HOME"] = str(store)
    return env


ALPHA = "20260101-000000-aaaaaa"  # "alpha": 10 circuits, all DONE, shot memory kept
BETA = "20260102-000000-bbbbbb"  # "beta.qpy": circuit 5 failed, circuit 9 cancelled
GAMMA = "20260103-000000-cccccc"  # "gamma": chunk 1 never ran, nothing runs it (newest)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with three small sets (read-only: tests that change sets make their own)."""
    root = tmp_path_factory.mktemp("demo") / "store"
    make_set(root, ALPHA, name="alpha", memory=True)
    make_set(root, BETA, name="beta.qpy", failed={5: "boom: bad gate"}, cancelled={9})
    make_set(root, GAMMA, name="gamma", total=8, unfinished={1})
    return root


def summary_of(**fields: Any) -> "SetSummary":
    """A :class:`~jobman.summary.SetSummary` of an empty finished set, with ``fields`` in place."""
    from jobman.summary import SetSummary

    base: dict[str, Any] = dict(
        id="s", name="n", status="DONE", created=0.0, updated=0.0, started=None, finished=None,
        backend="aer", shots=10, total=0, chunk_size=1, num_chunks=0, circuits={}, failed=0, chunks={},
        failures=[], running=False, sessions=[], usage={}, stopped=None, failure_groups=[])
    return SetSummary.from_dict(dict(base, **fields))
