"""The store's figures (issue 17), store format 2 (SQLite) against format 1 (files), in one run.

1. Lookups: ``jobman status``, ``jobman result --circuit K`` and ``--circuit NAME`` on a large
   set and on a 1,000-circuit set, as subprocesses, each against ``python -c "import qiskit"``
   timed alternately in the same run. The large set is written through the store's own API as a
   run records it (the set, then per chunk its results and its DONE record), so that a set of
   hundreds of thousands of circuits takes seconds to make, not a run of minutes.
2. Small chunks: a real ``jobman run`` of ``--runs`` circuits at ``--chunk-size 10`` against
   the same at ``--chunk-size 1000`` (the cost of a chunk's bookkeeping).
3. Files per set.
4. Packed shots: a real ``jobman run --memory`` of the same circuits at 1000 shots, the set's
   bytes on disk against the bytes of its samples packed as BitArray packs them (``shots x
   ceil(clbits / 8)`` a circuit).

    python bench/store_bench.py                       # 200,000 circuits in 20,000 chunks
    python bench/store_bench.py --circuits 1000000 --chunk 10 --formats 2   # issue 17's million
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SHOTS = 100


def make_set(root: Path, set_id: str, circuits: int, chunk: int, store_format: str) -> float:
    """Write a finished set as a run records it; seconds taken."""
    os.environ["JOBMAN_STORE_FORMAT"] = store_format
    from jobman.records import ChunkRecord, SetRecord
    from jobman.status import JobStatus
    from jobman.store import Store

    started = time.perf_counter()
    ranges = [(a, min(a + chunk, circuits)) for a in range(0, circuits, chunk)]
    record = SetRecord(id=set_id, name=f"bench-{store_format}", created=time.time(), inputs=[],
                       backend={"name": "aer"}, options={"shots": SHOTS, "memory": False,
                                                         "engine": {"max_in_flight": None}},
                       total=circuits, chunk_size=chunk, num_chunks=len(ranges))
    chunks = [ChunkRecord(index=i, start=a, stop=b) for i, (a, b) in enumerate(ranges)]
    set_store = Store(root).create_set(record, chunks, names=lambda a, b: [f"c{i}" for i in range(a, b)])
    now = time.time()
    with set_store.lock():  # as a run holds it (and catalogues the set as it lets go)
        for chunk_record in chunks:
            lines = [{"index": i, "name": f"c{i}", "status": "DONE", "counts": {format(i % 32, "05b"): SHOTS},
                      "error": None} for i in range(chunk_record.start, chunk_record.stop)]
            set_store.write_results(chunk_record.index, lines, [line["name"] for line in lines])
            chunk_record.set_status(JobStatus.DONE, now)
            set_store.save_chunk(chunk_record, sync=False)
    return time.perf_counter() - started


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds


def files_in(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def lookups(work: Path, circuits: int, chunk: int, reps: int, formats: list[str], sets_listed: int
            ) -> list[str]:
    lines = []
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("JOBMAN_STORE_FORMAT", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # jobman's modules compiled once, as qiskit's are
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "jobman")], check=True)
    sets = {}
    for store_format in formats:
        for label, size, size_chunk in (("large", circuits, chunk), ("1k", 1000, min(chunk, 100))):
            root = work / f"store-{store_format}-{label}"
            set_id = f"20260101-000000-{store_format}{label[:1]}0000"
            seconds = make_set(root, set_id, size, size_chunk, store_format)
            sets[(store_format, label)] = (root, set_id, size)
            print(f"# made format {store_format} set of {size:,} circuits in {-(-size // size_chunk):,} "
                  f"chunks in {seconds:.1f} s: {files_in(root / set_id):,} files", flush=True)
    commands: dict[str, list[str]] = {"import qiskit": [sys.executable, "-c", "import qiskit"]}
    for (store_format, label), (root, set_id, size) in sets.items():
        base = [sys.executable, "-m", "jobman"]
        key = f"format {store_format}, {label}"
        commands[f"status ({key})"] = base + ["status", set_id, "--store", str(root)]
        commands[f"result -c K ({key})"] = base + ["result", set_id, "--circuit", str(size - 7),
                                                  "--store", str(root)]
        commands[f"result -c NAME ({key})"] = base + ["result", set_id, "--circuit", f"c{size - 7}",
                                                     "--store", str(root)]
    if sets_listed:
        many = work / "store-many"
        started = time.perf_counter()
        for number in range(sets_listed):
            make_set(many, f"20260102-000000-{number:06d}a", 100, 10, "2")
        print(f"# made {sets_listed:,} format 2 sets of 100 circuits in {time.perf_counter() - started:.1f} s",
              flush=True)
        commands[f"list ({sets_listed:,} sets)"] = [sys.executable, "-m", "jobman", "list", "--store", str(many)]
        # the catalogue deleted first: every set read (and catalogued again)
        cold = (f"import os, runpy, sys; os.remove({str(many / '.catalogue.db')!r}); "
                f"sys.argv = ['jobman', 'list', '--store', {str(many)!r}]; runpy.run_module('jobman', run_name='__main__')")
        commands[f"list ({sets_listed:,}, no catalogue)"] = [sys.executable, "-c", cold]
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(reps):
        for label, command in commands.items():
            times[label].append(timed(command, env))
    baseline = statistics.median(times["import qiskit"])
    lines.append(f"{'command':42} {'median s':>9} {'/ import qiskit':>16}")
    for label, seconds in times.items():
        median = statistics.median(seconds)
        lines.append(f"{label:42} {median:9.3f} {median / baseline:16.2f}")
    return lines


def small_chunks(work: Path, circuits: int) -> list[str]:
    from jobman.inputs import make_basis_circuits
    from qiskit import qpy

    path = work / "runs.qpy"
    with open(path, "wb") as handle:
        qpy.dump(make_basis_circuits(circuits, 5), handle)
    lines = []
    for store_format in ("2", "1"):
        env = dict(os.environ, JOBMAN_HOME=str(work / f"runs-{store_format}"), JOBMAN_STORE_FORMAT=store_format)
        seconds = {}
        for size in (1000, 10, 1000, 10):  # alternating
            run = [sys.executable, "-m", "jobman", "run", str(path), "--shots", str(SHOTS), "--seed", "7",
                   "--chunk-size", str(size), "-q"]
            seconds.setdefault(size, []).append(timed(run, env))
        small, large = statistics.median(seconds[10]), statistics.median(seconds[1000])
        lines.append(f"format {store_format}: {circuits:,} circuits at --chunk-size 10 {small:.1f} s, "
                     f"at 1000 {large:.1f} s: ratio {small / large:.2f}")
    return lines


def packed_memory(work: Path, circuits: int, shots: int = 1000) -> list[str]:
    """Issue 17 point 3: a set run with ``--memory`` against the size of its packed samples."""
    from jobman.inputs import make_basis_circuits

    path = work / "runs.qpy"  # written by small_chunks
    clbits = make_basis_circuits(1, 5)[0].num_clbits
    home = work / "memory"
    env = dict(os.environ, JOBMAN_HOME=str(home), JOBMAN_STORE_FORMAT="2")
    seconds = timed([sys.executable, "-m", "jobman", "run", str(path), "--shots", str(shots), "--seed", "7",
                     "--memory", "-q"], env)
    folders = [p for p in home.iterdir() if p.is_dir()]
    files = [f for folder in folders for f in folder.rglob("*") if f.is_file()]
    stored = sum(f.stat().st_size for f in files)
    packed = circuits * shots * -(-clbits // 8)
    return [f"--memory: {circuits:,} circuits x {shots} shots ({clbits} clbits) ran in {seconds:.1f} s; "
            f"set {stored / 1e6:.1f} MB in {len(files)} files, packed samples {packed / 1e6:.1f} MB: "
            f"ratio {stored / packed:.2f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", type=int, default=200_000, help="circuits of the large set")
    parser.add_argument("--chunk", type=int, default=10, help="chunk size of the large set")
    parser.add_argument("--reps", type=int, default=5, help="timings of each command")
    parser.add_argument("--runs", type=int, default=20_000, help="circuits of the chunk-size runs (0: skip)")
    parser.add_argument("--formats", default="2,1", help="store formats to measure (format 1 is slow "
                                                          "to make at a million circuits)")
    parser.add_argument("--sets", type=int, default=1000, help="sets for `jobman list` (0: skip)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="jobman-store-bench-"))
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"store format 2 (SQLite) vs 1 (files), {time.strftime('%Y-%m-%d %H:%M')}, "
              f"{os.cpu_count()} cores, load average {load}")
        for line in lookups(work, args.circuits, args.chunk, args.reps, args.formats.split(","), args.sets):
            print(line, flush=True)
        if args.runs:
            for line in small_chunks(work, args.runs) + packed_memory(work, args.runs):
                print(line, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
