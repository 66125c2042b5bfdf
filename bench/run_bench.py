"""The jobman benchmark: overhead against a plain Aer loop, memory and speed at scale, lookups.

    python bench/run_bench.py            # targets 1-3 at their stated sizes (about 3 minutes)
    python bench/run_bench.py --scale    # and the million-circuit run, targets 2b and 4 (+5 min)
    python bench/run_bench.py --quick    # smaller sizes, under a minute
    python bench/run_bench.py --smoke    # a few seconds: proves the script works (tests run it)

Every figure is a ratio of two things measured side by side in the same run (repetitions
interleaved, medians reported), so a slower or busier machine moves both. The real CLI runs
in a subprocess with a private JOBMAN_HOME under --out; inputs are made once and kept there.
See bench/README.md for what each target means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from circuits import ensure_inputs  # noqa: E402
from measure import Series, run, settle  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 7
MB = 1_000_000


@dataclass(frozen=True)
class Profile:
    """Sizes of one benchmark mode."""

    base: int  # circuits actually built; longer inputs repeat them
    overhead_circuits: int  # target 1, at overhead_shots
    overhead_shots: int
    overhead_reps: int
    small: int  # targets 2a and 4: the reference run, at scale_shots
    small_reps: int
    large: int  # target 2a; also the large set of target 3
    scale_shots: int
    lookup_small: int  # target 3
    lookup_reps: int
    million: int  # --scale: targets 2b and 4
    patience: float  # seconds to wait, before each run, for other work on the machine to stop


PROFILES = {
    "full": Profile(10_000, 10_000, 1000, 7, 10_000, 3, 100_000, 100, 1_000, 15, 1_000_000, 30),
    "quick": Profile(10_000, 5_000, 1000, 3, 5_000, 1, 20_000, 100, 1_000, 7, 200_000, 5),
    "smoke": Profile(100, 100, 100, 1, 100, 1, 300, 100, 100, 1, 1_000, 0),
}


PARTS = ("overhead", "scaling", "lookups")


@dataclass
class Row:
    """One line of the result table."""

    target: str
    measured: str
    ratio: float | None
    goal: str
    ok: bool | None  # None: not measured in this mode

    def verdict(self) -> str:
        return "skipped" if self.ok is None else ("PASS" if self.ok else "FAIL")


class Bench:
    """Runs the measurements of one profile and keeps every series."""

    def __init__(self, profile: Profile, out: Path, scale: bool) -> None:
        self.profile = profile
        self.scale = scale
        self.inputs_folder = out / "inputs"
        self.store = out / f"store-{time.strftime('%Y%m%d-%H%M%S')}"
        self.env = dict(os.environ, JOBMAN_HOME=str(self.store), PYTHONUNBUFFERED="1")
        self.series: dict[str, Series] = {}
        self.sets: dict[int, str] = {}  # circuits -> id of a set run at scale_shots
        self.files: dict[int, Path] = {}

    # running things -------------------------------------------------------------------
    def measure(self, label: str, command: list[str], watch: bool = True, circuits: int = 0) -> float:
        if watch and self.profile.patience:
            settle(patience=self.profile.patience)
        sample = run(command, self.env, watch=watch)
        self.series.setdefault(label, Series(label, circuits)).samples.append(sample)
        return sample.seconds

    def jobman_run(self, label: str, circuits: int, shots: int) -> float:
        command = [sys.executable, "-m", "jobman", "run", str(self.files[circuits]),
                   "--shots", str(shots), "--seed", str(SEED)]
        seconds = self.measure(label, command, circuits=circuits)
        set_id = self.series[label].samples[-1].stdout.split()[0]
        if shots == self.profile.scale_shots:
            self.sets[circuits] = set_id
        note(f"{label}: {seconds:.2f} s, {circuits / seconds:,.0f} circuits/s, "
             f"peak {self.series[label].samples[-1].tree_pss / MB:,.0f} MB")
        return seconds

    # the parts --------------------------------------------------------------------------
    def prepare_inputs(self) -> None:
        p = self.profile
        sizes = {p.overhead_circuits, p.small, p.large, p.lookup_small, *([p.million] if self.scale else [])}
        started = time.perf_counter()
        self.files = ensure_inputs(self.inputs_folder, sorted(sizes), p.base, SEED)
        note(f"inputs ready in {time.perf_counter() - started:.1f} s: {self.inputs_folder}")

    def overhead(self) -> None:
        """Target 1: ``jobman run`` against the plain Aer loop, alternating which goes first."""
        p = self.profile
        plain = [sys.executable, str(HERE / "plain_aer.py"), str(self.files[p.overhead_circuits]),
                 "--shots", str(p.overhead_shots), "--seed", str(SEED)]
        for rep in range(p.overhead_reps):
            order = ("jobman", "plain") if rep % 2 == 0 else ("plain", "jobman")
            for which in order:
                if which == "jobman":
                    self.jobman_run("jobman run (overhead)", p.overhead_circuits, p.overhead_shots)
                else:
                    seconds = self.measure("plain Aer loop", plain)
                    note(f"plain Aer loop: {seconds:.2f} s")

    def scaling(self) -> None:
        """Targets 2 and 4: peak memory and circuits per second as the input grows."""
        p = self.profile
        for _ in range(p.small_reps):
            self.jobman_run("jobman run (small)", p.small, p.scale_shots)
        self.jobman_run("jobman run (large)", p.large, p.scale_shots)
        if self.scale:
            self.jobman_run("jobman run (million)", p.million, p.scale_shots)

    def lookups(self) -> None:
        """Target 3: read-only commands on a small and a large set against ``import qiskit``."""
        p = self.profile
        for size in (p.lookup_small, p.large):
            if size not in self.sets:
                self.jobman_run(f"jobman run (lookup set {size:,})", size, p.scale_shots)
        commands = {"python -c 'import qiskit'": [sys.executable, "-c", "import qiskit"]}
        for size in (p.lookup_small, p.large):
            set_id, circuit = self.sets[size], str(size // 2 + 17)
            commands[f"status ({size:,})"] = [sys.executable, "-m", "jobman", "status", set_id]
            commands[f"result ({size:,})"] = [sys.executable, "-m", "jobman", "result", set_id,
                                              "--circuit", circuit]
        for _ in range(p.lookup_reps):
            if p.patience:
                settle(patience=p.patience)
            for label, command in commands.items():
                self.measure(label, command, watch=False)

    def cleanup(self) -> None:
        shutil.rmtree(self.store, ignore_errors=True)

    # the table ----------------------------------------------------------------------------
    def rows(self) -> list[Row]:
        """The target table; a target whose measurements were not taken is ``skipped``."""
        p, s = self.profile, self.series
        rows = []
        jobman, plain = s.get("jobman run (overhead)"), s.get("plain Aer loop")
        rows.append(ratio_row("1  overhead: jobman run / plain Aer loop", jobman, plain, "<= 1.05",
                              lambda a, b: f"{a:.2f} s / {b:.2f} s ({p.overhead_circuits:,} circuits x "
                                           f"{p.overhead_shots} shots)", seconds))
        small, large, million = (s.get(f"jobman run ({k})") for k in ("small", "large", "million"))
        rows.append(ratio_row(f"2a memory: peak at {p.large:,} / at {p.small:,}", large, small, "<= 1.30",
                              lambda a, b: f"{a / MB:,.0f} MB / {b / MB:,.0f} MB (all processes, PSS)",
                              lambda x: x.tree_pss))
        rows.append(Row(f"2b memory: peak at {p.million:,}",
                        f"{million.tree_pss / MB:,.0f} MB (main process RSS {million.main_rss / MB:,.0f} MB)"
                        if million else "run with --scale", None, "< 1000 MB",
                        million.tree_pss < 1000 * MB if million else None))
        qiskit = s.get("python -c 'import qiskit'")
        for command in ("status", "result"):
            big, little = s.get(f"{command} ({p.large:,})"), s.get(f"{command} ({p.lookup_small:,})")
            rows.append(ratio_row(f"3  {command} on {p.large:,} / import qiskit", big, qiskit, "<= 0.60",
                                  lambda a, b: f"{a:.3f} s / {b:.3f} s", seconds))
            rows.append(ratio_row(f"3  {command} on {p.large:,} / on {p.lookup_small:,}", big, little,
                                  "<= 1.30", lambda a, b: f"{a:.3f} s / {b:.3f} s", seconds))
        rows.append(ratio_row(f"4  throughput: {p.million:,} / {p.small:,} circuits", million, small,
                              ">= 0.90", lambda a, b: f"{a:,.0f} / {b:,.0f} circuits/s "
                                                      f"({p.scale_shots} shots)",
                              lambda x: x.circuits / x.seconds))
        return rows


def seconds(series: Series) -> float:
    return series.seconds


def ratio_row(target: str, top: Series | None, bottom: Series | None, goal: str, show, value) -> Row:
    """A row comparing ``value(top)`` with ``value(bottom)`` against a goal like ``<= 1.05``."""
    if top is None or bottom is None:
        return Row(target, "run with --scale" if target.startswith(("2b", "4")) else "not measured",
                   None, goal, None)
    a, b = value(top), value(bottom)
    sign, limit = goal.split()
    ratio = a / b
    ok = ratio <= float(limit) if sign == "<=" else ratio >= float(limit)
    return Row(target, show(a, b), ratio, goal, ok)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor()) if os.path.exists("/proc/cpuinfo") \
        else platform.processor()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import qiskit
    import qiskit_aer

    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; Python {platform.python_version()}, "
            f"qiskit {qiskit.__version__}, qiskit-aer {qiskit_aer.__version__}")


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def note(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def render(rows: list[Row], bench: Bench, header: list[str]) -> str:
    widths = [max(len(r.target) for r in rows), max(len(r.measured) for r in rows)]
    lines = header + [""]
    lines.append(f"{'target':<{widths[0]}}  {'measured':<{widths[1]}}  {'ratio':>6}  {'goal':<9}  result")
    for r in rows:
        ratio = f"{r.ratio:6.2f}" if r.ratio is not None else f"{'-':>6}"
        lines.append(f"{r.target:<{widths[0]}}  {r.measured:<{widths[1]}}  {ratio}  {r.goal:<9}  "
                     f"{r.verdict()}")
    lines += ["", "every series:"]
    for series in bench.series.values():
        memory = f", peak {series.tree_pss / MB:,.0f} MB" if series.tree_pss else ""
        lines.append(f"  {series.label:<28} {series.spread()}{memory}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark jobman against a plain Aer loop.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    mode.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script works")
    parser.add_argument("--scale", action="store_true", help="add the million-circuit run")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="inputs, stores, results")
    parser.add_argument("--keep", action="store_true", help="keep the job sets' store")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable); its targets are the only ones judged")
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    bench = Bench(PROFILES[name], args.out, args.scale)
    header = [f"jobman benchmark ({name}{' + scale' if args.scale else ''}), "
              f"{time.strftime('%Y-%m-%d %H:%M')}", f"machine: {machine()}", f"before: {load()}"]
    note(header[-1])
    started = time.perf_counter()
    try:
        bench.prepare_inputs()
        for part in args.only or PARTS:
            getattr(bench, part)()
    finally:
        if not args.keep:
            bench.cleanup()
    foreign = [s.foreign_cores for series in bench.series.values() for s in series.samples]
    header += [f"after:  {load()}; took {time.perf_counter() - started:.0f} s; other work on the machine "
               f"during the runs: median {median(foreign):.2f} cores, max {max(foreign):.2f}"]
    rows = bench.rows()
    print(render(rows, bench, header))
    report = args.out / f"bench-{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report.write_text(json.dumps({"header": header, "rows": [asdict(r) for r in rows],
                                  "series": {k: [asdict(s) | {"stdout": s.stdout[-500:]} for s in v.samples]
                                             for k, v in bench.series.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
