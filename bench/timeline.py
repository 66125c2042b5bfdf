"""A timeline of one run: what the main thread does while the Aer workers simulate.

    python bench/timeline.py bench/out/inputs/random5q-10000-base10000-seed7.qpy --shots 1000

Runs the library in this process with a private store, wrapping the engine's and the Aer
backend's steps to record when each starts and ends, then prints every step in time order
and the totals per step. A healthy run shows each job's simulation (``simulate``) starting as
the previous one ends, and the next chunk's load and submit inside it. For profiling, not a
test: it wraps private methods, and a step that is renamed is simply not shown.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import threading
import time
from collections import defaultdict

STEPS = [  # (module, class or None, functions)
    ("jobman.engine", "Engine", ("_load", "_validate", "_finish", "_record")),
    ("jobman.store", "SetStore", ("write_results", "save_chunk")),
    ("jobman.backends.aer", "AerBackend", ("__init__", "prepare", "submit", "_simulate")),
    ("jobman.inputs", None, ("open_source",)),
]


def instrument(events: list, origin: float) -> None:
    """Wrap every step that exists so that it appends ``(name, thread, start, end)``."""
    import importlib

    for module, class_name, names in STEPS:
        owner = importlib.import_module(module)
        owner = getattr(owner, class_name) if class_name else owner
        for name in names:
            if hasattr(owner, name):
                setattr(owner, name, _wrap(getattr(owner, name), name, events, origin))


def _wrap(function, name: str, events: list, origin: float):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            events.append((name, threading.current_thread().name, start - origin,
                           time.perf_counter() - origin))
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--all", action="store_true", help="print every step, not only the first 60")
    args = parser.parse_args()
    origin = time.perf_counter()
    events: list = []
    instrument(events, origin)
    from jobman import JobManager

    with tempfile.TemporaryDirectory() as store:
        job_set = JobManager(store).run(args.path, shots=args.shots, seed=args.seed)
        wall = time.perf_counter() - origin
        print(f"{job_set.status().value} in {wall:.2f} s\n\n  start    end   took  thread        step")
        shown = sorted(events, key=lambda e: e[2])
        for name, thread, start, end in shown if args.all else shown[:60]:
            print(f"{start:7.2f} {end:6.2f} {end - start:6.3f}  {thread[:12]:12}  {name}")
    totals: dict = defaultdict(lambda: [0, 0.0])
    for name, thread, start, end in events:
        totals[(name, thread.split("_")[0])][0] += 1
        totals[(name, thread.split("_")[0])][1] += end - start
    print("\n  total  calls  step (thread)")
    for (name, thread), (calls, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        print(f"{seconds:7.2f} {calls:6d}  {name} ({thread})")


if __name__ == "__main__":
    main()
