"""Batches: one notebook over many parameter sets, in parallel, recorded as they finish.

Every parameter set is checked before any run starts. Each finished run is
written to the history at once, so an interrupted batch loses nothing that
finished, and ``resume_batch`` runs exactly the sets that did not.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod.config import ProjectConfig, default_jobs
from nbprod.errors import BusyError, Location, ParameterError
from nbprod.history.owner import Owner, owner_alive, process_owner
from nbprod.history.records import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    BatchRecord,
    RunErrorInfo,
    RunRecord,
    new_id,
    now,
)
from nbprod.history.store import UNFINISHED, HistoryStore
from nbprod.monitor.hook import monitor_finished_batch, monitor_finished_run
from nbprod.notebook.reader import read_notebook
from nbprod.run.execute import RunOutcome, RunSpec
from nbprod.run.executors import Executor, get_executor
from nbprod.run.liveness import heartbeat
from nbprod.run.params import load_yaml_parameters, prepare_parameters, yaml_error
from nbprod.run.recovery import open_history, recover_orphans
from nbprod.run.single import (
    apply_outcome,
    git_state,
    make_spec,
    new_record,
    notebook_path,
    prepare_run,
)

#: seconds the workers get to stop their runs and shut their kernels down
CANCEL_GRACE = 30.0


@dataclass
class BatchProgress:
    """How far a batch is, for progress bars.

    Attributes
    ----------
    total : int
        Runs in this invocation (for a resumed batch: the ones left).
    succeeded, failed, cancelled, running : int
        Runs in each state so far.
    last : RunRecord or None
        The run whose change triggered this report.
    """

    total: int
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    running: int = 0
    last: RunRecord | None = None

    @property
    def finished(self) -> int:
        """Runs that succeeded or failed."""
        return self.succeeded + self.failed


@dataclass
class BatchResult:
    """The outcome of a batch.

    Attributes
    ----------
    batch : BatchRecord
        The batch as recorded (status, counts, output folder).
    runs : list of RunRecord
        Every run of the batch, in the order of the parameter sets.
    interrupted : bool
        True when the batch was stopped before all runs finished.
    """

    batch: BatchRecord
    runs: list[RunRecord] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when every run succeeded."""
        return all(run.status == SUCCEEDED for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready mapping."""
        return {
            "batch": self.batch.to_dict(),
            "interrupted": self.interrupted,
            "runs": [run.to_dict() for run in self.runs],
        }


def expand_grid(data: Any, where: str = "<grid>") -> list[dict[str, Any]]:
    """Turn a grid into parameter sets.

    Parameters
    ----------
    data : Any
        Either a mapping of parameter name to a list of values (the cartesian
        product is taken; a value that is not a list is a single value), or a
        mapping with a ``runs`` key holding a list of parameter mappings.
    where : str
        The grid's file, for error messages.

    Returns
    -------
    list of dict
        The parameter sets, in order.

    Raises
    ------
    ParameterError
        When the grid has neither shape, or is empty.
    """
    location = Location(where)
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ParameterError(
            "a grid must be a mapping of parameter names to lists of values, "
            "or a mapping with a 'runs' list",
            location,
        )
    if "runs" in data:
        runs = data["runs"]
        if len(data) != 1 or not isinstance(runs, list):
            raise ParameterError(
                "a grid with 'runs' must hold only a list of parameter sets", location
            )
        sets = []
        for index, item in enumerate(runs):
            if item is None:
                item = {}
            if not isinstance(item, dict) or not all(isinstance(k, str) for k in item):
                raise ParameterError(
                    f"runs[{index}] is not a mapping of parameter names to values",
                    location,
                )
            sets.append(dict(item))
    else:
        names = list(data)
        columns = [v if isinstance(v, list) else [v] for v in data.values()]
        if any(not column for column in columns):
            empty = [n for n, c in zip(names, columns, strict=True) if not c]
            raise ParameterError(
                f"empty list of values for {', '.join(empty)}", location
            )
        sets = [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*columns)
        ]
    if not sets:
        raise ParameterError("the grid has no parameter sets", location)
    return sets


def load_grid(path: Path | str) -> list[dict[str, Any]]:
    """Read a YAML grid file and expand it into parameter sets (see :func:`expand_grid`).

    Raises
    ------
    ParameterError
        When the file is missing, not YAML, or not a grid.
    """
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ParameterError(
            f"cannot read the grid: {exc.strerror}", Location(str(path))
        ) from None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, "the grid is", str(path)) from None
    if isinstance(data, dict) and "runs" not in data:
        # reuse the parameter-file checks for the plain mapping shape
        load_yaml_parameters(text, str(path))
    return expand_grid(data, str(path))


def _error_outcome(
    record: RunRecord, exc: BaseException, cancelling: bool = False
) -> RunOutcome:
    stamp = now()
    started = record.started_at or stamp
    # A worker that dies while the batch is being stopped (e.g. SIGTERM before
    # its signal handler was installed) was cancelled, not failed.
    name = "CancelledError" if cancelling else type(exc).__name__
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, BrokenProcessPool):
        message = "the worker process running this notebook died"
    return RunOutcome(
        run_id=record.id,
        status=CANCELLED if name == "CancelledError" else FAILED,
        started_at=started,
        finished_at=stamp,
        duration=(stamp - started).total_seconds(),
        error=(
            None
            if name == "CancelledError"
            else RunErrorInfo(None, None, name, message)
        ),
    )


def _drive(
    store: HistoryStore,
    batch: BatchRecord,
    todo: list[tuple[RunRecord, RunSpec]],
    executor: Executor,
    output_paths: dict[str, Path],
    on_progress: Callable[[BatchProgress], None] | None,
    stop: threading.Event | None,
    on_finished: Callable[[RunRecord], None] | None = None,
) -> bool:
    """Execute the runs, recording each as it finishes; return True when interrupted."""
    progress = BatchProgress(total=len(todo))
    pending = deque(todo)
    inflight: dict[Future[RunOutcome], RunRecord] = {}

    def report(record: RunRecord | None) -> None:
        progress.running = len(inflight)
        progress.last = record
        if on_progress:
            on_progress(progress)

    def finish(
        future: Future[RunOutcome], record: RunRecord, cancelling: bool = False
    ) -> None:
        try:
            outcome = future.result()
        except BrokenProcessPool as exc:
            outcome = _error_outcome(record, exc, cancelling)
            if not cancelling:
                executor.recover()
        except BaseException as exc:  # a lost Dask task, a cancelled future
            outcome = _error_outcome(record, exc, cancelling)
        apply_outcome(record, outcome, output_paths[record.id])
        store.update_run(record)
        if on_finished:
            on_finished(record)
        if record.status == SUCCEEDED:
            progress.succeeded += 1
        elif record.status == FAILED:
            progress.failed += 1
        else:
            progress.cancelled += 1

    interrupted = False
    report(None)
    try:
        while pending or inflight:
            if stop is not None and stop.is_set():
                interrupted = True
                break
            while pending and len(inflight) < executor.slots:
                record, spec = pending.popleft()
                record.status = RUNNING
                record.started_at = now()
                store.set_status([record.id], RUNNING, record.started_at)
                try:
                    future = executor.submit(spec)
                except BrokenProcessPool:
                    # a worker died since the last run finished: start a fresh pool
                    executor.recover()
                    future = executor.submit(spec)
                inflight[future] = record
                report(record)
            done, _ = wait(list(inflight), timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                record = inflight.pop(future)
                finish(future, record)
                report(record)
    except KeyboardInterrupt:
        interrupted = True
    if interrupted:
        executor.cancel()
        # take what the workers report while they stop: finished runs stay
        # finished, the rest come back cancelled
        done, _ = wait(list(inflight), timeout=CANCEL_GRACE)
        for future in done:
            record = inflight.pop(future)
            finish(future, record, cancelling=True)
            report(record)
    executor.close()
    return interrupted


def _finish_batch(store: HistoryStore, batch_id: str, interrupted: bool) -> BatchResult:
    cancelled = store.cancel_unfinished(batch_id)
    runs = store.list_runs(batch_id=batch_id, limit=None)
    if interrupted or cancelled:
        status = CANCELLED
    elif any(run.status == FAILED for run in runs):
        status = FAILED
    else:
        status = SUCCEEDED
    store.finish_batch(batch_id, status, now())
    return BatchResult(store.get_batch(batch_id), runs, interrupted or bool(cancelled))


def _checked_sets(
    config: ProjectConfig, notebook: Path | str, parameter_sets: list[dict[str, Any]]
) -> tuple[Path, Any, list[dict[str, Any]]]:
    """The notebook's path, the notebook, and every parameter set typed; the
    first bad set raises."""
    if not parameter_sets:
        raise ParameterError("no parameter sets to run", Location(str(notebook)))
    path = notebook_path(config, notebook)
    nb = read_notebook(path)
    where = config.relpath(path)
    prepare_parameters(nb, {}, where)  # a broken parameters cell, said once
    typed_sets = []
    for index, values in enumerate(parameter_sets):
        try:
            typed_sets.append(prepare_parameters(nb, values, where)[1])
        except ParameterError as exc:
            raise ParameterError(
                f"parameter set {index + 1} of {len(parameter_sets)}: {exc.message}",
                exc.location,
                exc.hint,
            ) from None
    return path, nb, typed_sets


def create_batch(
    config: ProjectConfig,
    notebook: Path | str,
    parameter_sets: list[dict[str, Any]],
    *,
    executor: str = "local",
    jobs: int | None = None,
    store: HistoryStore | None = None,
) -> BatchResult:
    """Check every parameter set and record a batch whose runs are all queued.

    Nothing runs: :func:`resume_batch` runs the queued sets, in this process
    or in another one (the server starts a worker process for that).

    Parameters
    ----------
    config : ProjectConfig
        The project.
    notebook : Path or str
        The notebook.
    parameter_sets : list of dict
        One mapping of parameters per run (see :func:`load_grid`).
    executor : str
        The executor the batch is meant for (recorded; resume uses it).
    jobs : int, optional
        Runs at once (recorded).
    store : HistoryStore, optional
        The history; default: the project's.

    Returns
    -------
    BatchResult
        The queued batch and its runs.

    Raises
    ------
    NotebookError, ParameterError
        Before anything is recorded.
    """
    path, _, typed_sets = _checked_sets(config, notebook, parameter_sets)
    with open_history(config, store) as history:
        return _record_batch(config, history, path, typed_sets, executor, jobs)


def _record_batch(
    config: ProjectConfig,
    store: HistoryStore,
    path: Path,
    typed_sets: list[dict[str, Any]],
    executor: str,
    jobs: int | None,
    owner: Owner | None = None,
) -> BatchResult:
    """Store a queued batch of already checked parameter sets (owned by ``owner``)."""
    batch_id = new_id("b-")
    output_dir = config.runs_dir / path.stem / batch_id
    git = git_state(path.parent)
    batch = BatchRecord(
        id=batch_id,
        notebook=config.relpath(path),
        status=QUEUED,
        executor=executor,
        jobs=jobs if jobs is not None else default_jobs(),
        output_dir=config.relpath(output_dir),
        created_at=now(),
        owner=owner,
    )
    records = []
    for typed in typed_sets:
        run_id = new_id()
        output_path = output_dir / f"{run_id}.ipynb"
        record = new_record(config, path, typed, output_path, git, run_id, batch_id)
        record.created_at = batch.created_at  # listed together, in grid order
        records.append(record)
    store.add_batch(batch, records)
    return BatchResult(store.get_batch(batch_id), records)


def run_batch(
    config: ProjectConfig,
    notebook: Path | str,
    parameter_sets: list[dict[str, Any]],
    *,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: Any = None,
    timeout: float | None = None,
    kernel: str | None = None,
    on_progress: Callable[[BatchProgress], None] | None = None,
    stop: threading.Event | None = None,
    store: HistoryStore | None = None,
) -> BatchResult:
    """Run a notebook once per parameter set, in parallel, recording every run.

    All sets are checked against the notebook's parameters cell before the
    first run starts. A failing run (or a dying kernel) never stops the others.

    Parameters
    ----------
    config : ProjectConfig
        The project.
    notebook : Path or str
        The notebook.
    parameter_sets : list of dict
        One mapping of parameters per run (see :func:`load_grid`).
    jobs : int, optional
        Runs at once; default: the CPU count (local) or the cluster's threads (dask).
    executor : str
        A registered executor name: ``local`` or ``dask``.
    scheduler : str or distributed.Client, optional
        For ``dask``: the scheduler address or a client.
    timeout : float, optional
        Seconds each cell may run.
    kernel : str, optional
        Kernel name; default: the notebook's kernelspec.
    on_progress : callable, optional
        Called with a :class:`BatchProgress` whenever a run starts or finishes.
    stop : threading.Event, optional
        Set it (e.g. from a signal handler) to stop the batch cleanly: running
        runs are cancelled and their kernels shut down, queued runs are marked
        cancelled.
    store : HistoryStore, optional
        The history; default: the project's.

    Returns
    -------
    BatchResult
        The batch and all its runs.

    Raises
    ------
    NotebookError, ParameterError
        Before anything runs or is recorded.
    ExecutorError
        When the executor cannot start (nothing is recorded then either).
    """
    # Check every set, then start the executor (a missing Dask fails here),
    # and only then record anything.
    path, nb, typed_sets = _checked_sets(config, notebook, parameter_sets)
    chosen = get_executor(executor, slots=jobs, scheduler=scheduler)
    try:
        # the template imports the notebook's modules while the batch is recorded
        _share_template(config, chosen, nb)
        with open_history(config, store) as history:
            # owned from the start: a kill before the first run still shows
            created = _record_batch(
                config,
                history,
                path,
                typed_sets,
                chosen.name,
                chosen.slots,
                process_owner(),
            )
            return _run_unfinished(
                config,
                history,
                created.batch.id,
                chosen,
                timeout,
                kernel,
                on_progress,
                stop,
            )
    except BaseException:
        chosen.close()
        raise


def resume_batch(
    config: ProjectConfig,
    batch_id: str,
    *,
    jobs: int | None = None,
    executor: str | None = None,
    scheduler: Any = None,
    timeout: float | None = None,
    kernel: str | None = None,
    on_progress: Callable[[BatchProgress], None] | None = None,
    stop: threading.Event | None = None,
    store: HistoryStore | None = None,
) -> BatchResult:
    """Run the parameter sets of a batch that did not finish (queued, running or cancelled).

    Finished runs (succeeded or failed) are not run again; the others keep
    their ids and output paths. Arguments are those of :func:`run_batch`;
    ``executor`` defaults to the batch's own.

    Raises
    ------
    NotFoundError
        When there is no such batch.
    BusyError
        When another live process is running the batch.
    NotebookError, ParameterError
        When the notebook changed so that it no longer takes the batch's parameters.
    """
    with open_history(config, store) as history:
        batch = history.get_batch(batch_id)
        if batch.status in UNFINISHED and batch.owner is not None:
            # a dead owner's batch becomes interrupted here, its results kept
            recover_orphans(config, history)
            batch = history.get_batch(batch_id)
        owner = batch.owner
        if (
            batch.status in UNFINISHED
            and owner is not None
            and owner != process_owner()
            and owner_alive(owner, batch.heartbeat_at)
        ):
            raise BusyError(
                f"batch {batch_id} is still running (pid {owner.pid} on {owner.host})",
                hint=f"wait for it, or stop it (Ctrl-C in its terminal, kill {owner.pid}), then resume",
            )
        runs = history.list_runs(batch_id=batch_id, limit=None)
        if all(run.status in COMPLETED for run in runs):
            return BatchResult(batch, runs, False)
        chosen = get_executor(
            executor or batch.executor, slots=jobs, scheduler=scheduler
        )
        try:
            return _run_unfinished(
                config, history, batch_id, chosen, timeout, kernel, on_progress, stop
            )
        except BaseException:
            chosen.close()
            raise


def _share_template(config: ProjectConfig, chosen: Executor, nb: Any) -> str | None:
    """Start the executor's shared warm template for ``nb``; its folder, or None."""
    if not config.run.warm_kernels:
        return None
    from nbprod.run import warm

    code = (cell.source for cell in nb.cells if cell.cell_type == "code")
    return chosen.share_template(warm.notebook_imports(code), config.run.preload)


def _run_unfinished(
    config: ProjectConfig,
    store: HistoryStore,
    batch_id: str,
    chosen: Executor,
    timeout: float | None,
    kernel: str | None,
    on_progress: Callable[[BatchProgress], None] | None,
    stop: threading.Event | None,
) -> BatchResult:
    """Run a batch's queued, running or cancelled sets on ``chosen``, which it closes."""
    batch = store.get_batch(batch_id)
    left = [
        run
        for run in store.list_runs(batch_id=batch_id, limit=None)
        if run.status not in COMPLETED
    ]
    path = notebook_path(config, config.root / batch.notebook)
    nb = read_notebook(path)
    prepared = [prepare_run(nb, run.parameters, batch.notebook)[0] for run in left]
    shared = _share_template(config, chosen, nb)
    owner = process_owner()
    store.reopen_batch(batch_id, [run.id for run in left], owner)
    paths: dict[str, Path] = {}
    todo = []
    for run, nb_run in zip(left, prepared, strict=True):
        run.status = QUEUED
        output_path = config.root / (
            run.output_path or f"{batch.output_dir}/{run.id}.ipynb"
        )
        paths[run.id] = output_path
        spec = make_spec(
            run,
            path,
            nb_run,
            None if chosen.returns_notebooks else output_path,
            timeout,
            kernel,
            config,
        )
        todo.append((run, dataclasses.replace(spec, shared_templates=shared)))
    with heartbeat(store, owner):
        interrupted = _drive(
            store,
            batch,
            todo,
            chosen,
            paths,
            on_progress,
            stop,
            lambda record: monitor_finished_run(config, record, store),
        )
        result = _finish_batch(store, batch_id, interrupted)
    monitor_finished_batch(config, store, batch_id)
    return result
