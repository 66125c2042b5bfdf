"""How ``jobman run --dry-run`` shows a plan: the plan as data on stdout (text, or ``--json``)."""

from __future__ import annotations

from jobman.cli.app import terminal
from jobman.dryrun import DryRun, SampleCircuit
from jobman.estimate import format_seconds

#: Jobs listed one by one in the text form (all of them with --json).
SHOWN_JOBS = 5


def show_dry_run(plan: DryRun, as_json: bool) -> None:
    """Print ``plan``; a note on stderr says that nothing was submitted."""
    terminal.info("dry run: nothing submitted, no job set created")
    if as_json:
        terminal.json(plan.to_dict())
        return
    for line in plan_lines(plan):
        terminal.data(line)


def plan_lines(plan: DryRun) -> list[str]:
    """The plan as lines of text."""
    jobs = plan.jobs
    unit = plan.unit + "s"
    lines = [f"backend: {plan.backend}",
             f"{unit}: {plan.total:,} from {len(plan.inputs)} input{'s' if len(plan.inputs) != 1 else ''}",
             _shots_line(plan)]
    if plan.precisions is None:
        lines.append(f"jobs: {len(jobs):,} of up to {plan.chunk_size:,} {unit} "
                     f"({plan.chunk_size * plan.shots:,} executions)")
    else:
        lines.append(f"jobs: {len(jobs):,} of up to {plan.chunk_size:,} {unit}")
    lines.append(f"upload per job: {_upload(plan)}")
    for job in jobs[:SHOWN_JOBS]:
        lines.append(f"  job {job.chunk}: {unit} {job.start}-{job.stop - 1}, {job.executions:,} executions, "
                     f"upload {_mb(job.upload_bytes)}, QPU {format_seconds(job.qpu_seconds)}")
    if len(jobs) > SHOWN_JOBS:
        lines.append(f"  ... {len(jobs) - SHOWN_JOBS:,} more jobs (--json lists them all)")
    what = "transpiled sample" if plan.prepared else "sample"
    lines.append(f"{what} ({len(plan.sample)} {unit}{', bound' if plan.unit == 'point' else ''}):")
    lines.extend("  " + _sample_line(row, plan.unit) for row in plan.sample)
    if plan.qpu_seconds is None:
        lines.append("estimated QPU time: not applicable (no QPU time on this backend; "
                     "--max-usage counts measured simulation time)")
    else:
        lines.append(f"estimated QPU time: {format_seconds(plan.qpu_seconds)} "
                     f"({plan.qpu_seconds:,.1f} s; {plan.estimate_method})")
    return lines


def _shots_line(plan: DryRun) -> str:
    if plan.precisions is None:
        return f"shots: {plan.shots:,} per {plan.unit}; executions: {plan.executions:,}"
    shown = ", ".join("0 (exact)" if p <= 0 else f"{p:g}" for p in plan.precisions)
    how = "nothing sampled" if plan.executions == 0 else \
        "ceil(1/precision^2) shots per measured Pauli string, at most"
    return f"precision: {shown}; executions: {plan.executions:,} ({how})"


def _upload(plan: DryRun) -> str:
    sizes = [job.upload_bytes for job in plan.jobs if job.upload_bytes]
    if not sizes:
        return "nothing uploaded (local backend)"
    cap = f"cap {_mb(plan.max_payload_bytes)}" if plan.max_payload_bytes else \
        "what IBM would get; local testing mode uploads nothing"
    return f"up to {_mb(max(sizes))} (from the sample with a 1.5x margin; {cap})"


def _sample_line(row: SampleCircuit, unit: str = "circuit") -> str:
    head = f"{unit} {row.index}" + (f" {row.name!r}" if row.name else "")
    if row.problem:
        return f"{head}: would fail: {row.problem}"
    ops = ", ".join(f"{name} {count}" for name, count in sorted(row.ops.items()))
    per_shot = "" if row.seconds_per_shot is None else f", {row.seconds_per_shot * 1e6:,.1f} us per shot"
    return f"{head}: {row.num_qubits} qubits, depth {row.depth} ({ops}){per_shot}"


def _mb(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"
