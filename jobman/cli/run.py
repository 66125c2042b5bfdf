"""``jobman run``: run circuits from files as a new job set."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, List, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import JsonOption, StoreOption, app, flag, open_store, terminal
from jobman.cli.cluster import ExecutorOption, RayAddressOption, RayNumCpusOption, early_cluster, executor_options
from jobman.cli.detach import DetachOption
from jobman.cli.formatting import totals
from jobman.cli.progress import follow
from jobman.exceptions import UsageError
from jobman.records import parse_tags

BACKEND_PANEL = "Backend"
#: Exit code of run/resume/retry when submitting stopped at the --max-usage budget.
BUDGET_EXIT = 4
MaxUsageOption = Annotated[Optional[str], typer.Option(
    "--max-usage", metavar="TIME", help="Usage budget, e.g. --max-usage 10m (or 90s, 2h): stop "
    "submitting when the usage recorded plus the estimate of jobs in flight would pass it (QPU "
    "time on IBM, simulation time on Aer); the rest stays PENDING for `jobman resume`.",
    rich_help_panel="Submission")]
NotifyOption = Annotated[Optional[str], typer.Option(
    "--notify-command", metavar="CMD", rich_help_panel="Background",
    help="Shell command run when the set's run ends, with JOBMAN_SET_ID, JOBMAN_SET_STATE, "
         "JOBMAN_FAILED and JOBMAN_EXIT_CODE set; resume and retry run it too, e.g. "
         "--notify-command 'mail -s \"$JOBMAN_SET_ID $JOBMAN_SET_STATE\" me@example.org < /dev/null'.")]
#: --mode and friends, with their defaults (given to the backends whose plug-in takes them).
IBM_DEFAULTS = {"mode": "batch", "max_time": None, "optimization_level": 1, "skip_transpile": False,
                "sampler": "v2", "account": None, "instance": None, "max_payload": None}


@app.command("run")
def run_command(
    inputs: Annotated[List[Path], typer.Argument(metavar="INPUT...", show_default=False,
                      help="QPY or OpenQASM 2/3 files, or directories of them (sorted by name); - "
                      "reads stdin (pipes, FIFOs and <(...) are read once into the set).")],
    backend: Annotated[str, typer.Option("--backend", "-b", help="Where to run: aer (local simulator), "
                       "fake_<device> (IBM device model, offline, e.g. fake_manila), ibm_<device> (IBM "
                       "Quantum, e.g. ibm_torino) or provider:<module>:<callable> (any Qiskit BackendV2); "
                       "`jobman backends` lists them.",
                       rich_help_panel=BACKEND_PANEL)] = "aer",
    noise_model: Annotated[Optional[str], typer.Option("--noise-model", metavar="fake_<device>", help="Aer "
                           "only: simulate with that device's noise model, e.g. --noise-model fake_manila.",
                           rich_help_panel=BACKEND_PANEL)] = None,
    backend_option: Annotated[Optional[List[str]], typer.Option("--backend-option", metavar="KEY=VALUE",
                              help="Repeatable: an option of the backend's plug-in (on aer an AerSimulator "
                              "option), e.g. --backend-option method=density_matrix (values as JSON: 2, "
                              "0.5, true, null; else text).",
                              rich_help_panel=BACKEND_PANEL)] = None,
    mode: Annotated[str, typer.Option("--mode", metavar="batch|session|job", help="IBM execution mode, "
                    "e.g. --mode session: jobs in a Batch (default), a dedicated Session, or one by one.",
                    rich_help_panel=BACKEND_PANEL)] = "batch",
    max_time: Annotated[Optional[str], typer.Option("--max-time", metavar="TIME", help="Most time a batch "
                        "or session stays open, e.g. --max-time 2h (or seconds: 7200); jobman opens a new "
                        "one when it closes.", rich_help_panel=BACKEND_PANEL)] = None,
    optimization_level: Annotated[int, typer.Option("--optimization-level", "-O", min=0, max=3,
                                  metavar="0-3", help="Transpiler optimization level for IBM backends, "
                                  "e.g. -O 3 (seeded by --seed).", rich_help_panel=BACKEND_PANEL)] = 1,
    skip_transpile: Annotated[bool, typer.Option("--skip-transpile", metavar="", help="The circuits "
                              "already are ISA circuits of the IBM backend: run them as they are, e.g. "
                              "--skip-transpile.", rich_help_panel=BACKEND_PANEL)] = False,
    transpile_option: Annotated[Optional[List[str]], typer.Option("--transpile-option", metavar="KEY=VALUE",
                                help="IBM backends, repeatable: an option of the preset pass manager, e.g. "
                                "--transpile-option scheduling_method=alap (circuits that already are ISA "
                                "run as they are).", rich_help_panel=BACKEND_PANEL)] = None,
    sampler: Annotated[str, typer.Option("--sampler", metavar="v2|executor", help="IBM Sampler: "
                       "SamplerV2 (v2) or executor_sampler.Sampler, e.g. --sampler executor.",
                       rich_help_panel=BACKEND_PANEL)] = "v2",
    account: Annotated[Optional[str], typer.Option("--account", metavar="NAME", help="Saved "
                       "qiskit-ibm-runtime account, e.g. --account work (default: QISKIT_IBM_* "
                       "variables, then the default saved account).", rich_help_panel=BACKEND_PANEL)] = None,
    instance: Annotated[Optional[str], typer.Option("--instance", metavar="CRN", help="IBM Quantum "
                        "instance (CRN or name), e.g. --instance my-instance.",
                        rich_help_panel=BACKEND_PANEL)] = None,
    max_payload: Annotated[Optional[str], typer.Option("--max-payload", metavar="SIZE", help="Most "
                           "bytes one IBM job uploads, e.g. --max-payload 100MB (default 20MB; the "
                           "documented limit is 300MB); chunks are sized to fit.",
                           rich_help_panel=BACKEND_PANEL)] = None,
    parameters: Annotated[Optional[Path], typer.Option("--parameters", "-p", metavar="VALUES",
                          help="Sweep the circuit's parameters: a numpy .npy array of shape (..., "
                          "num_parameters), one point per row after the leading axes (an .npz keyed by "
                          "circuit name or index when the inputs hold several circuits), e.g. "
                          "--parameters values.npy.", rich_help_panel="Task")] = None,
    observables: Annotated[Optional[Path], typer.Option("--observables", metavar="H.json",
                           help="Estimate expectation values instead of sampling (aer: exact, as "
                           "qiskit-aer's EstimatorV2; fake and IBM devices: qiskit-ibm-runtime's "
                           "EstimatorV2, with a --precision above 0): a JSON list of [pauli, coefficient] pairs per "
                           "observable, e.g. [[\"ZZ\", 1.0], [\"XI\", 0.5]], a list of them, or an "
                           "object of named ones; broadcast against --parameters.",
                           rich_help_panel="Task")] = None,
    precision: Annotated[float, typer.Option("--precision", metavar="P", help="With --observables: "
                         "on aer the stds (above 0 the evs get normal noise of that size, seeded by "
                         "--seed, as qiskit-aer's EstimatorV2); on fake and IBM devices the target "
                         "precision of the runtime's EstimatorV2 (e.g. 0.015625).", rich_help_panel="Task")] = 0.0,
    shots: Annotated[int, typer.Option("--shots", "-s", help="Shots per circuit.",
                     rich_help_panel="Task")] = 1024,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Simulator seed (default: picked at random "
                    "and recorded); a circuit's result depends only on the seed and its index. Also "
                    "seeds IBM transpiling.",
                    rich_help_panel="Task")] = None,
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", "-k", metavar="K",
                          help="Most circuits per job (default: 1000; the backend's limits may lower it).",
                          rich_help_panel="Task")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="A name for the job set.",
                    rich_help_panel="Task")] = None,
    tag: Annotated[Optional[List[str]], typer.Option("--tag", metavar="KEY=VALUE",
                   help="Label the set (repeatable); `jobman list --tag KEY=VALUE` finds it.",
                   rich_help_panel="Task")] = None,
    memory: Annotated[bool, typer.Option("--memory", help="Keep per-shot outcomes.",
                      rich_help_panel="Task")] = False,
    max_in_flight: Annotated[Optional[int], typer.Option("--max-in-flight", help="Most jobs submitted "
                             "and unfinished at once (default: two per worker on aer, 3 on IBM).",
                             rich_help_panel="Submission")] = None,
    max_retries: Annotated[int, typer.Option("--max-retries", help="Retries of a transient failure "
                           "(per call and per chunk).", rich_help_panel="Submission")] = 3,
    on_failure: Annotated[str, typer.Option("--on-failure", metavar="continue|abort",
                          help="On a failed circuit: finish the rest, or stop and cancel the rest.",
                          rich_help_panel="Submission")] = "continue",
    max_usage: MaxUsageOption = None,
    dry_run: Annotated[bool, flag("--dry-run", help="Plan only: print circuits (or points), chunks, "
                       "executions (an estimator task's: the shots its --precision takes) and upload "
                       "per job, a transpiled sample and the estimated QPU time; submit nothing, "
                       "create no set.", panel="Task")] = False,
    json_output: JsonOption = False,
    notify_command: NotifyOption = None,
    detach: DetachOption = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    ray_num_cpus: RayNumCpusOption = None,
    store: StoreOption = None,
) -> int:
    """Run circuits as a new job set; print its id; wait for the end, or --detach.

    The set id goes to stdout as soon as the set exists; progress goes to stderr. With
    --detach a background process runs the set and jobman returns at once.

    Example: jobman run examples/circuits.qpy --shots 1000 --seed 7

    Example: jobman run ansatz.qpy --parameters values.npy --shots 100 (a sweep: one point per row)

    Example: jobman run ansatz.qpy --observables H.json --parameters values.npy (expectation values)
    (plan first: jobman run circuits.qpy --backend fake_manila --dry-run)

    Example: SET=$(jobman run circuits.qpy --detach --notify-command 'notify-send "$JOBMAN_SET_STATE"')
    """
    from jobman.manager import JobManager

    if json_output and not dry_run:
        raise UsageError("--json: only with --dry-run")
    if observables is None and precision != 0.0:
        raise UsageError("--precision: only with --observables")
    if observables is not None and memory:
        raise UsageError("--observables: not with --memory (an estimator task keeps no shots)")
    if observables is not None:
        from jobman.estimator_input import check_precision

        check_precision(precision, "--precision")
    tags = parse_tags(tag)
    budget = parse_duration(max_usage, "--max-usage")
    early = early_cluster(executor, ray_address, ray_num_cpus) if not (dry_run or detach) else None
    try:
        backend_obj = build_backend(backend, noise_model=noise_model, backend_options=backend_option,
                                transpile_options=transpile_option, mode=mode, max_time=max_time, optimization_level=optimization_level,
                                skip_transpile=skip_transpile, sampler=sampler, account=account,
                                instance=instance, max_in_flight=max_in_flight,
                                max_payload=parse_size(max_payload, "--max-payload"),
                                cluster=executor_options(executor, ray_address, ray_num_cpus))
    except BaseException:
        if early is not None:
            early()  # the connection begun for nothing: closed
        raise
    if dry_run:
        from jobman.cli.dry_run import show_dry_run

        plan = JobManager(store).dry_run([str(p) for p in inputs], backend=backend_obj, shots=shots,
                                         seed=seed, chunk_size=chunk_size, memory=memory,
                                         parameters=None if parameters is None else str(parameters),
                                         observables=None if observables is None else str(observables),
                                         precision=precision)
        show_dry_run(plan, json_output)
        return 0
    try:
        backend_obj.connect()  # a cluster that cannot be reached fails before the set is made
    except BaseException:
        backend_obj.close()
        raise
    manager = JobManager(open_store(store))
    task: dict[str, Any] = dict(shots=shots, seed=seed, chunk_size=chunk_size, name=name, memory=memory,
                max_in_flight=max_in_flight, max_retries=max_retries, on_failure=on_failure,
                notify_command=notify_command, max_usage=budget, tags=tags)
    if parameters is not None:
        task["parameters"] = str(parameters)
    if observables is not None:
        task.update(observables=str(observables), precision=precision)
    if detach:
        from jobman.cli.detach import launch

        job_set, held = manager.create([str(p) for p in inputs], backend=backend_obj, **task)
        return launch(job_set.set_store, held, ["resume"])

    with follow(terminal, "run") as progress:
        def created(job_set) -> None:
            announce(job_set.job_set_id())
            terminal.detail(f"job set folder: {manager.store.root / job_set.job_set_id()}")
            progress.start(manager.store.open_set(job_set.job_set_id()), fresh=True)

        job_set = manager.run([str(p) for p in inputs], backend=backend_obj, on_change=progress.on_change,
                              on_created=created, **task)
    return finish(job_set)


def announce(set_id: str) -> None:
    """The set id on stdout at once (``SET=$(jobman resume)``), as run, resume and retry do."""
    terminal.data(set_id)
    terminal.out.flush()


def finish(job_set) -> int:
    """Report how a set ended on stderr and return its exit code."""
    from jobman.failure_report import failure_lines
    from jobman.summary import exit_code

    summary = job_set.outcome()
    if summary.stopped:
        from jobman.cli.status import stopped_line

        terminal.info(stopped_line(summary))
        return BUDGET_EXIT
    code = exit_code(summary)
    say = terminal.info if code == 0 else terminal.failure
    say(f"job set {summary.id}: {summary.status.value} ({totals(summary.circuits)})")
    for line in failure_lines(summary.failures, more_hint=f"jobman status {summary.id} --failures"):
        say(line)
    return code


def build_backend(name: str, max_in_flight: Optional[int] = None, noise_model: Optional[str] = None,
                  backend_options: Optional[List[str]] = None, transpile_options: Optional[List[str]] = None,
                  cluster: Optional[dict] = None, **ibm_options):
    """The backend to run on, built by the plug-in that serves ``name`` from the run options it
    takes (its ``flags``); any other option given is an error that says which backends take it."""
    from jobman.backends.plugins import plugin_for, refused_text
    from jobman.cli.checks import parse_assignments

    plugin = plugin_for(name)
    flags = given_flags(noise_model, parse_assignments(backend_options, "--backend-option"),
                        parse_assignments(transpile_options, "--transpile-option"), ibm_options, cluster)
    refused = [flag for flag in flags if flag not in plugin.flags]
    if refused:
        raise UsageError(refused_text(refused, name, plugin))
    if "max_time" in flags:
        flags["max_time"] = parse_duration(flags["max_time"])
    if flags.get("mode") == "session" and max_in_flight == 1:
        terminal.warn("--mode session with --max-in-flight 1 leaves the device idle between jobs; "
                      "2 or more keeps the next job queued")
    return plugin.build(name, **plugin.options_from_flags(name, flags))


def given_flags(noise_model: Optional[str], backend_options: dict, transpile_options: dict,
                ibm_options: dict, cluster: Optional[dict]) -> dict[str, Any]:
    """The backend options of ``jobman run`` that were given (not left at their defaults), by
    keyword name, in the order errors list them."""
    flags: dict[str, Any] = {"noise_model": noise_model} if noise_model is not None else {}
    if backend_options:
        flags["backend_option"] = backend_options
    flags.update({key: value for key, value in ibm_options.items() if value != IBM_DEFAULTS[key]})
    if transpile_options:
        flags["transpile_option"] = transpile_options
    flags.update(cluster or {})
    return flags


def parse_size(text: Optional[str], option: str) -> Optional[int]:
    """``20MB``, ``512kB``, ``1.5GB`` or bytes (``20000000``) as bytes (decimal units); None stays None."""
    if text is None:
        return None
    units = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
    cleaned = text.strip().lower().replace(" ", "")
    number = cleaned.rstrip("kmgb")
    try:
        size = float(number) * units[cleaned[len(number):]]
    except (KeyError, ValueError):
        raise UsageError(f"{option} must be a size like 20MB, 512kB or bytes, not {text!r}") from None
    if not 1 <= size < float("inf"):
        raise UsageError(f"{option} must be positive, not {text!r}")
    return int(size)


def parse_duration(text: Optional[str], option: str = "--max-time") -> Optional[float]:
    """``7200``, ``90m``, ``2h``, ``1d`` as seconds (for ``option``; whole seconds for
    ``--max-time``); None stays None."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value, unit = (text[:-1], text[-1]) if text[-1:].lower() in units else (text, "s")
    try:
        seconds = float(value) * units[unit.lower()]
    except ValueError:
        raise UsageError(f"{option} must be seconds or a duration like 90m or 2h, not {text!r}") from None
    if option == "--max-time" and (not math.isfinite(seconds) or seconds < 1):
        raise UsageError(f"--max-time must be a finite duration of at least 1 second, not {text!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"{option} must be positive, not {text!r}")
    return int(seconds) if option == "--max-time" or seconds.is_integer() else seconds
