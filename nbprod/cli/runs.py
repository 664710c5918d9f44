"""``nbprod run``, ``nbprod batch`` and ``nbprod runs``: parameterized runs and their history."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from nbprod.cli import err, json_option, load_project, main, out
from nbprod.config import ProjectConfig, default_jobs, find_project_root
from nbprod.errors import NbprodError, ParameterError
from nbprod.history.records import RUN_STATUSES, RunRecord
from nbprod.values import pairs_text, short_text, to_display

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

#: exit code of a batch stopped with Ctrl-C or SIGTERM (128 + SIGINT, as shells do)
EXIT_INTERRUPTED = 130

_STATUS_STYLE = {
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "yellow",
    "running": "cyan",
    "queued": "dim",
    "interrupted": "bold magenta",
}


def _print_resume_hints(runs: list[RunRecord]) -> None:
    """Under a listing: how to go on with interrupted work (its process died)."""
    batches = list(
        dict.fromkeys(
            r.batch_id for r in runs if r.status == "interrupted" and r.batch_id
        )
    )
    for batch_id in batches:
        out.print(
            f"[bold magenta]interrupted[/]: batch {batch_id} (its process ended); "
            f"resume with: nbprod batch --resume {batch_id}"
        )
    for run in runs:
        if run.status == "interrupted" and not run.batch_id:
            out.print(
                f"[bold magenta]interrupted[/]: run {run.id} (its process ended); "
                f"run it again with: nbprod run {escape(run.notebook)}"
            )


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE.get(status, '')}]{status}[/]"


def _duration(run: RunRecord) -> str:
    return f"{run.duration:.1f}s" if run.duration is not None else ""


def _error_text(run: RunRecord) -> str:
    if not run.error:
        return ""
    cell = f"cell {run.error.cell + 1}: " if run.error.cell is not None else ""
    message = f": {run.error.evalue}" if run.error.evalue else ""
    return f"{cell}{run.error.ename}{message}"


def _parameter_options(function: Any) -> Any:
    function = click.option(
        "-y",
        "--parameters-yaml",
        "yaml_texts",
        multiple=True,
        metavar="YAML",
        help="Parameters as a YAML mapping, e.g. -y '{n: 3, dates: [2024-01-01]}'.",
    )(function)
    function = click.option(
        "-f",
        "--parameters-file",
        "files",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="A YAML file of parameters.",
    )(function)
    function = click.option(
        "-p",
        "--parameter",
        "pairs",
        multiple=True,
        nargs=2,
        metavar="NAME VALUE",
        help="One parameter, typed like the notebook's default (else as papermill does).",
    )(function)
    return function


def _common_options(function: Any) -> Any:
    function = json_option("Print JSON.")(function)
    function = click.option(
        "--kernel", metavar="NAME", help="Kernel to run in (default: the notebook's)."
    )(function)
    function = click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        help="Fail the run when one cell runs longer than this.",
    )(function)
    return function


def _print_table(table: Table) -> None:
    # Piped into a file or CI log there is no terminal width to honour: a wide
    # table beats one whose columns rich squeezes to three characters.
    if out.is_terminal:
        out.print(table)
        return
    width = out.width
    out.width = max(width, 200)
    try:
        out.print(table)
    finally:
        out.width = width


def render_run(run: RunRecord) -> None:
    """Print one run: status, provenance, parameters, error and metrics."""
    out.print(f"[bold]run {escape(run.id)}[/]  {_status(run.status)}")
    rows = [
        ("notebook", run.notebook),
        ("batch", run.batch_id or ""),
        ("parameters", pairs_text(to_display(run.parameters)) or "(defaults)"),
        (
            "started",
            run.started_at.isoformat(timespec="seconds") if run.started_at else "",
        ),
        ("duration", _duration(run)),
        ("output", run.output_path or ""),
        ("error", _error_text(run)),
        (
            "git",
            (
                f"{run.git_commit[:12]}{' (dirty)' if run.git_dirty else ''}"
                if run.git_commit
                else ""
            ),
        ),
        ("kernel", run.kernel or ""),
        ("versions", f"nbprod {run.nbprod_version}, papermill {run.papermill_version}"),
    ]
    for name, value in rows:
        if value:
            style = "bold red" if name == "error" else "dim"
            out.print(f"  [{style}]{name:<10}[/] {escape(str(value))}")
    _print_resume_hints([run])
    if run.metrics:
        out.print("  [dim]metrics[/]")
        for name, value in run.metrics.items():
            out.print(f"    {escape(name)} = {escape(short_text(value))}")


def _config_for(notebook: Path | None) -> ProjectConfig:
    """The project of the notebook, else of the working directory.

    A notebook outside any configured project uses the working directory as
    the project, so its runs land in ``./runs`` and ``./.nbprod`` where
    ``nbprod runs`` (run from the same place) finds them.
    """
    if notebook is not None:
        root = find_project_root(notebook)
        if root is not None:
            return load_project(root)
    return load_project(Path.cwd())


def _start_keeper(config: ProjectConfig) -> None:
    """Start the warm keeper ``keep_warm`` asks for; a failure only costs speed."""
    from nbprod.run import keeper
    from nbprod.run.warm import adopt_announced

    try:
        found = keeper.start(
            config.state_dir, config.run.keep_warm * 60, config.run.preload
        )
    except (NbprodError, OSError) as exc:
        err.print(f"[yellow]nbprod: no warm keeper:[/] {escape(str(exc))}")
        return
    if found["started"]:
        err.print(
            f"[dim]nbprod: keeping warm kernels for {config.run.keep_warm:g} idle "
            f"min (pid {found['pid']}; `nbprod warm stop` ends it)[/]"
        )
    adopt_announced(config.state_dir)


def _prestart(notebook: Path, kernel: str | None, share: bool) -> ProjectConfig | None:
    """Start the notebook's warm template, or a batch's workers, before this process imports papermill.

    Returns the project's configuration when it was read (the command uses it).
    Bad input (no project, a broken config) is left to the command to report;
    another ``--kernel`` is not started from a template.
    """
    if kernel or notebook.suffix != ".ipynb" or not notebook.is_file():
        return None
    try:
        config = _config_for(notebook)
    except NbprodError:
        return None
    starting = False
    if config.run.warm_kernels:
        from nbprod.run.warm import adopt_announced, prestart

        # JupyterLab's server for this project, or a warm keeper, may have
        # the template running
        if adopt_announced(config.state_dir) is None and config.run.keep_warm:
            _start_keeper(config)
        starting = prestart(notebook, config.run.preload, share=share)
    if share and not starting:
        from nbprod.run.executors import start_forkserver

        # no template import to wait for: the workers' own start (papermill,
        # nbclient) is what the first run waits for, so it starts now too; a
        # template that imports gets the second core to itself meanwhile
        start_forkserver()
    return config


def _check_kernel(kernel: str | None) -> None:
    """Refuse an unknown ``--kernel`` before anything is recorded or started."""
    if not kernel:
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        names = ", ".join(sorted(KernelSpecManager().find_kernel_specs()))
        raise ParameterError(
            f"no kernel named {kernel!r}",
            hint=f"installed kernels: {names or '(none)'}; see `jupyter kernelspec list`",
        ) from None


def _gather(
    files: tuple[Path, ...],
    yaml_texts: tuple[str, ...],
    pairs: tuple[tuple[str, str], ...],
) -> dict[str, Any]:
    from nbprod.run.params import gather_parameters

    return gather_parameters(list(files), list(yaml_texts), list(pairs))


@main.command("run")
@click.argument("notebook", type=click.Path(path_type=Path))
@_parameter_options
@_common_options
def run_command(
    notebook: Path,
    pairs: tuple[tuple[str, str], ...],
    files: tuple[Path, ...],
    yaml_texts: tuple[str, ...],
    timeout: float | None,
    kernel: str | None,
    as_json: bool,
) -> None:
    """Run NOTEBOOK once with parameters and record the run.

    Parameters come from -f files, then -y YAML, then -p pairs; later ones win.
    They are checked against the notebook's `parameters` cell before any kernel
    starts. The output notebook goes to <runs>/<notebook>/<run id>.ipynb.
    Exit code 1 when the run fails.
    """
    prestarted = _prestart(notebook, kernel, share=False)
    from nbprod.run.single import run_notebook

    parameters = _gather(files, yaml_texts, pairs)
    _check_kernel(kernel)
    config = prestarted or _config_for(notebook)

    def started(record: RunRecord) -> None:
        if not as_json:
            err.print(f"[dim]running {escape(record.notebook)} as {record.id}…[/]")

    def terminate(signum: int, frame: Any) -> None:
        # SIGTERM ends the run like Ctrl-C: kernel shut down, run recorded cancelled
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        run = run_notebook(
            config,
            notebook,
            parameters,
            timeout=timeout,
            kernel=kernel,
            on_start=started,
        )
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: the run is recorded as cancelled[/]")
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        _echo_json(run.to_dict())
    else:
        render_run(run)
    if run.status != "succeeded":
        raise SystemExit(1)


class _BatchDisplay:
    """Progress on stderr: a live bar on a terminal, one line per finished run otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.live = err.is_terminal and not quiet
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.seen: set[str] = set()

    def __enter__(self) -> _BatchDisplay:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]batch[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=err,
                transient=False,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def __call__(self, state: Any) -> None:
        counts = (
            f"[green]{state.succeeded} done[/] [red]{state.failed} failed[/] "
            f"[cyan]{state.running} running[/]"
        )
        if state.cancelled:
            counts += f" [yellow]{state.cancelled} cancelled[/]"
        if self.progress is not None:
            if self.task is None:
                self.task = self.progress.add_task(
                    "batch", total=state.total, counts=counts
                )
            self.progress.update(self.task, completed=state.finished, counts=counts)
        run = state.last
        if (
            not self.live
            and not self.quiet
            and run is not None
            and run.status in ("succeeded", "failed")
            and run.id not in self.seen
        ):
            self.seen.add(run.id)
            err.print(
                f"{_status(run.status)} {run.id} {escape(pairs_text(to_display(run.parameters)))} "
                f"{_duration(run)} {escape(_error_text(run))}"
            )


@contextmanager
def _stop_on_signals(stop: threading.Event, quiet: bool) -> Iterator[None]:
    """Turn Ctrl-C and SIGTERM into a clean stop of the batch."""

    def handler(signum: int, frame: Any) -> None:
        # A second Ctrl-C does not cut the clean-up short: killing the batch
        # now would leave runs marked running and kernels behind.
        if not quiet:
            if stop.is_set():
                err.print(
                    "[yellow]still stopping: waiting for the kernels to shut down…[/]"
                )
            else:
                err.print(
                    "[yellow]stopping: cancelling running notebooks, "
                    "shutting their kernels down…[/]"
                )
        stop.set()

    previous = {
        sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def render_batch(result: Any) -> None:
    """Print the summary table of a batch and its totals."""
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("#", "run", "parameters", "status", "duration", "metrics"):
        wrap = column in ("parameters", "metrics")
        table.add_column(column, overflow="fold", no_wrap=not wrap)
    for index, run in enumerate(result.runs, start=1):
        detail = pairs_text(run.metrics) if run.metrics else ""
        if run.error:
            detail = (
                detail + "  " if detail else ""
            ) + f"[red]{escape(_error_text(run))}[/]"
        elif detail:
            detail = escape(detail)
        table.add_row(
            str(index),
            run.id,
            escape(pairs_text(to_display(run.parameters))),
            _status(run.status),
            _duration(run),
            detail,
        )
    _print_table(table)
    batch = result.batch
    counts = ", ".join(
        f"{batch.counts[s]} {s}" for s in RUN_STATUSES if batch.counts.get(s)
    )
    out.print(
        f"[bold]batch {batch.id}[/] {_status(batch.status)}: {counts}; "
        f"outputs in {escape(batch.output_dir)}"
    )
    if result.interrupted:
        out.print(f"resume with: nbprod batch --resume {batch.id}")


@main.command("batch")
@click.argument("notebook", required=False, type=click.Path(path_type=Path))
@click.option(
    "--grid",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML grid: parameter -> list of values (all combinations), or `runs:` list of sets.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Runs at once (default: CPU count; on Dask: the cluster's threads).",
)
@click.option("--executor", default=None, help="local (default) or dask.")
@click.option(
    "--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786."
)
@click.option(
    "--resume",
    "resume_id",
    metavar="BATCH_ID",
    help="Run the sets of a batch that did not finish.",
)
@_common_options
def batch_command(
    notebook: Path | None,
    grid: Path | None,
    jobs: int | None,
    executor: str | None,
    scheduler: str | None,
    resume_id: str | None,
    timeout: float | None,
    kernel: str | None,
    as_json: bool,
) -> None:
    """Run NOTEBOOK once per parameter set of a grid, in parallel, recording every run.

    Ctrl-C stops the batch cleanly (running notebooks are cancelled, their
    kernels shut down); --resume BATCH_ID runs what did not finish. Exit code 1
    when a run failed, 130 when the batch was stopped.
    """
    prestarted = None
    if notebook and grid and executor in (None, "local") and not resume_id:
        prestarted = _prestart(notebook, kernel, share=True)
    from nbprod.run.batch import load_grid, resume_batch, run_batch

    if executor == "dask" and not scheduler:
        raise ParameterError("--executor dask needs --scheduler tcp://host:port")
    _check_kernel(kernel)
    stop = threading.Event()
    if resume_id:
        if notebook or grid:
            raise ParameterError(
                "--resume takes no notebook or grid: the batch has them"
            )
        config = _config_for(None)
        with _BatchDisplay(as_json) as display, _stop_on_signals(stop, as_json):
            result = resume_batch(
                config,
                resume_id,
                jobs=jobs,
                executor=executor,
                scheduler=scheduler,
                timeout=timeout,
                kernel=kernel,
                on_progress=display,
                stop=stop,
            )
    else:
        if notebook is None or grid is None:
            raise ParameterError(
                "give a NOTEBOOK and --grid FILE (or --resume BATCH_ID)",
                hint="a grid is YAML, e.g. `n: [1, 2, 3]` or `runs: [{n: 1}, {n: 5}]`",
            )
        sets = load_grid(grid)
        config = prestarted or _config_for(notebook)
        workers = jobs or (None if executor == "dask" else default_jobs(len(sets)))
        with _BatchDisplay(as_json) as display, _stop_on_signals(stop, as_json):
            result = run_batch(
                config,
                notebook,
                sets,
                jobs=workers,
                executor=executor or "local",
                scheduler=scheduler,
                timeout=timeout,
                kernel=kernel,
                on_progress=display,
                stop=stop,
            )
    if as_json:
        _echo_json(result.to_dict())
    else:
        render_batch(result)
    if result.interrupted:
        raise SystemExit(EXIT_INTERRUPTED)
    if not result.ok:
        raise SystemExit(1)


@main.command("runs")
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@click.option("--notebook", help="Only runs of this notebook (path or file name).")
@click.option("--batch", "batch_id", help="Only the runs of this batch.")
@click.option(
    "--status", type=click.Choice(RUN_STATUSES), help="Only runs with this status."
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--compare",
    is_flag=True,
    help="Compare the runs RUN_ID... (or those of --batch) side by side.",
)
@json_option("Print JSON.")
def runs_command(
    run_ids: tuple[str, ...],
    notebook: str | None,
    batch_id: str | None,
    status: str | None,
    limit: int,
    compare: bool,
    as_json: bool,
) -> None:
    """List recent runs, show run RUN_ID (an id or a unique prefix), or --compare runs."""
    from nbprod.run.recovery import open_history

    config = _config_for(None)
    if compare:
        _compare_command(config, run_ids, batch_id, as_json)
        return
    if len(run_ids) > 1:
        raise click.UsageError("give one RUN_ID, or --compare to compare several")
    run_id = run_ids[0] if run_ids else None
    # opening repairs work whose process died: it shows as interrupted
    with open_history(config) as store:
        if run_id:
            run = store.get_run(run_id)
            if as_json:
                _echo_json(run.to_dict())
            else:
                render_run(run)
            return
        if notebook and Path(notebook).exists():
            notebook = config.relpath(Path(notebook))
        if batch_id:
            store.get_batch(batch_id)  # a clear error for a mistyped id
        runs = store.list_runs(
            notebook=notebook, batch_id=batch_id, status=status, limit=limit
        )
    if as_json:
        _echo_json([run.to_dict() for run in runs])
        return
    if not runs:
        out.print(
            "no runs recorded yet"
            if not (notebook or batch_id or status)
            else "no matching runs"
        )
        return
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in (
        "run",
        "notebook",
        "status",
        "started",
        "duration",
        "parameters",
        "metrics",
    ):
        wrap = column in ("notebook", "parameters", "metrics")
        table.add_column(column, overflow="fold", no_wrap=not wrap)
    for run in runs:
        started = run.started_at.strftime("%m-%d %H:%M") if run.started_at else ""
        table.add_row(
            run.id,
            escape(run.notebook),
            _status(run.status),
            started,
            _duration(run),
            escape(pairs_text(to_display(run.parameters))),
            (
                escape(pairs_text(run.metrics))
                if run.metrics
                else escape(_error_text(run))
            ),
        )
    _print_table(table)
    _print_resume_hints(runs)


def _compare_command(
    config: ProjectConfig, run_ids: tuple[str, ...], batch_id: str | None, as_json: bool
) -> None:
    """``nbprod runs --compare``: effective parameters and metrics side by side."""
    from nbprod.run.compare import compare_runs, value_text
    from nbprod.run.recovery import open_history

    if bool(run_ids) == bool(batch_id):
        raise click.UsageError("--compare needs two or more RUN_IDs, or --batch ID")
    with open_history(config) as store:
        if batch_id:
            store.get_batch(batch_id)  # a clear error for a mistyped id
            runs = list(reversed(store.list_runs(batch_id=batch_id, limit=None)))
        else:
            runs = [store.get_run(run_id) for run_id in run_ids]
    if len(runs) < 2 and not batch_id:
        raise click.UsageError("--compare needs two or more runs")
    comparison = compare_runs(config, runs)
    if as_json:
        _echo_json(comparison.to_dict())
        return
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("", no_wrap=True)
    for run in runs:
        table.add_column(escape(run.id), overflow="fold")
    for parameter in comparison.parameters:
        # a differing parameter is bold and starred; a default is dim
        label = (
            f"[bold]* {escape(parameter.name)}[/]"
            if parameter.differs
            else f"  {escape(parameter.name)}"
        )
        cells = []
        for value in parameter.values:
            if value.source == "unknown":
                cells.append("[dim]?[/]")
            elif value.source == "default":
                cells.append(f"[dim]{escape(value_text(value.value))}[/]")
            else:
                cells.append(escape(value_text(value.value)))
        table.add_row(label, *cells)
    if comparison.metrics:
        table.add_section()
    for metric in comparison.metrics:
        cells = [
            (
                ""
                if value is None
                else (
                    f"[bold green]{short_text(value)} (best)[/]"
                    if index == metric.best and len(runs) > 1
                    else short_text(value)
                )
            )
            for index, value in enumerate(metric.values)
        ]
        arrow = "↑" if metric.goal == "max" else "↓"
        table.add_row(f"  {escape(metric.name)} {arrow}", *cells)
    table.add_section()
    table.add_row("  status", *[_status(run.status) for run in runs])
    _print_table(table)
    if comparison.differing:
        names = ", ".join(p.name for p in comparison.differing)
        out.print(
            f"[dim]* differs: {escape(names)}; dim: the parameters cell's default[/]"
        )
    else:
        out.print("[dim]the runs have the same parameters[/]")
