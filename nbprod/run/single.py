"""One run of a notebook: check parameters, execute in a kernel, record it.

Also the pieces every run shares (provenance, output paths, turning a worker's
outcome into a history record), used by the batch driver too.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbformat import NotebookNode

from nbprod._version import __version__
from nbprod.config import ProjectConfig, RunConfig
from nbprod.errors import Location, NotebookError
from nbprod.files import write_atomic
from nbprod.history.owner import process_owner
from nbprod.history.records import CANCELLED, RUNNING, RunRecord, new_id, now
from nbprod.monitor.hook import monitor_finished_run
from nbprod.notebook.cells import skip_unevaluated
from nbprod.notebook.reader import read_notebook
from nbprod.run.execute import RunOutcome, RunSpec, execute_run
from nbprod.run.params import prepare_parameters
from nbprod.values import to_display

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore


@dataclass(frozen=True)
class GitState:
    """The git commit of the notebook's repository and whether its tree was dirty."""

    commit: str | None = None
    dirty: bool | None = None


def git_state(folder: Path) -> GitState:
    """Return the commit checked out at ``folder`` and whether tracked files changed.

    Untracked files do not count as dirty: the run outputs themselves are
    usually untracked. Outside a repository (or without git), both are None.
    """
    from nbprod.errors import GitError
    from nbprod.gitops.git import Git

    git = Git(folder)
    try:
        commit = git.head()
        if commit is None:
            return GitState()
        status = git.run(
            "status", "--porcelain", "--untracked-files=no", check=False, timeout=60
        )
    except GitError:  # no git on the machine, or it hung
        return GitState()
    return GitState(commit, bool(status.stdout.strip()) if status.ok else None)


@functools.cache
def papermill_version() -> str | None:
    """Return the installed papermill version without importing papermill.

    Read once per process: a batch asks once per run, and reading the
    package's metadata costs milliseconds each time.
    """
    try:
        return version("papermill")
    except PackageNotFoundError:
        return None


def notebook_path(config: ProjectConfig, notebook: Path | str) -> Path:
    """The notebook's absolute path: a relative one from the working folder, else the project.

    Raises
    ------
    NotebookError
        When it is not a ``.ipynb`` file.
    """
    path = Path(notebook)
    if not path.is_absolute():
        path = (Path.cwd() / path) if path.exists() else (config.root / path)
    path = path.resolve()
    if path.suffix != ".ipynb":
        raise NotebookError("is not a notebook (.ipynb)", Location(str(notebook)))
    return path


def prepare_run(
    nb: NotebookNode, parameters: dict[str, Any], where: str
) -> tuple[NotebookNode, dict[str, Any]]:
    """The notebook one run executes (a copy) and its typed parameters.

    The parameters are checked against the parameters cell and injected, and
    nbdev's ``#| eval: false`` cells are skipped: they never run outside an
    editor (nor in smoke runs, nor in a batch).

    Raises
    ------
    ParameterError
        When the parameters do not fit its parameters cell.
    """
    prepared, typed = prepare_parameters(nb, parameters, where)
    skip_unevaluated(prepared)
    return prepared, typed


def load_prepared(
    config: ProjectConfig, notebook: Path | str, parameters: dict[str, Any]
) -> tuple[Path, NotebookNode, dict[str, Any]]:
    """Read a notebook and check and inject parameters; no kernel is started.

    Returns
    -------
    tuple
        The notebook's absolute path, the notebook to execute and the typed
        parameters.

    Raises
    ------
    NotebookError
        When the notebook cannot be read.
    ParameterError
        When the parameters do not fit its parameters cell.
    """
    path = notebook_path(config, notebook)
    prepared, typed = prepare_run(read_notebook(path), parameters, config.relpath(path))
    return path, prepared, typed


def notebook_json(nb: NotebookNode) -> str:
    """Serialise a notebook for a worker."""
    import nbformat

    return nbformat.writes(nb)


def apply_outcome(record: RunRecord, outcome: RunOutcome, output_path: Path) -> None:
    """Copy a worker's outcome into the run's record; write the notebook when returned.

    Parameters
    ----------
    record : RunRecord
        The run, updated in place.
    outcome : RunOutcome
        What the worker reported.
    output_path : Path
        Where the output notebook goes (when the worker returned it).
    """
    if outcome.notebook_json is not None:
        write_atomic(output_path, outcome.notebook_json)
    record.status = outcome.status
    record.started_at = outcome.started_at
    record.finished_at = outcome.finished_at
    record.duration = round(outcome.duration, 3)
    record.error = outcome.error
    record.metrics = outcome.metrics
    record.kernel = outcome.kernel
    record.papermill_version = outcome.papermill_version or record.papermill_version


def new_record(
    config: ProjectConfig,
    path: Path,
    parameters: dict[str, Any],
    output_path: Path,
    git: GitState,
    run_id: str | None = None,
    batch_id: str | None = None,
) -> RunRecord:
    """Return the record of a new, queued run."""
    return RunRecord(
        id=run_id or new_id(),
        batch_id=batch_id,
        notebook=config.relpath(path),
        parameters=parameters,
        created_at=now(),
        output_path=config.relpath(output_path),
        git_commit=git.commit,
        git_dirty=git.dirty,
        nbprod_version=__version__,
        papermill_version=papermill_version(),
    )


def make_spec(
    record: RunRecord,
    path: Path,
    prepared: NotebookNode,
    output_path: Path | None,
    timeout: float | None,
    kernel: str | None,
    config: ProjectConfig | None = None,
) -> RunSpec:
    """Return what a worker needs to execute a run (warm kernels as ``config`` says)."""
    run = config.run if config is not None else RunConfig()
    return RunSpec(
        run_id=record.id,
        notebook_json=notebook_json(prepared),
        input_path=str(path),
        parameters=json.loads(json.dumps(to_display(record.parameters))),
        cwd=str(path.parent),
        kernel_name=kernel,
        timeout=timeout,
        output_path=str(output_path) if output_path else None,
        warm=run.warm_kernels,
        preload=run.preload,
    )


def run_notebook(
    config: ProjectConfig,
    notebook: Path | str,
    parameters: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
    kernel: str | None = None,
    store: HistoryStore | None = None,
    on_start: Callable[[RunRecord], None] | None = None,
) -> RunRecord:
    """Run a notebook once with parameters and record the run in the history.

    Parameters are checked against the notebook's parameters cell before any
    kernel starts. The kernel runs in the notebook's folder; this process's
    working directory is left alone. The output notebook goes to
    ``<runs>/<notebook stem>/<run id>.ipynb`` and is kept when the run fails.

    Parameters
    ----------
    config : ProjectConfig
        The project (runs folder, history database).
    notebook : Path or str
        The notebook, absolute, relative to the working directory, or
        relative to the project root.
    parameters : dict, optional
        Parameter values (``CommandLineText`` values are typed against the defaults).
    timeout : float, optional
        Seconds each cell may run.
    kernel : str, optional
        Kernel name; default: the notebook's kernelspec.
    store : HistoryStore, optional
        The history to record into; default: the project's.
    on_start : callable, optional
        Called with the record once the run is stored as running.

    Returns
    -------
    RunRecord
        The finished run: status ``succeeded`` or ``failed`` (with its error).

    Raises
    ------
    NotebookError, ParameterError
        Before anything runs or is recorded.
    """
    from nbprod.run.recovery import open_history

    with open_history(config, store) as history:
        record = queue_run(config, notebook, parameters, store=history)
        return execute_queued_run(
            config,
            record,
            timeout=timeout,
            kernel=kernel,
            store=history,
            on_start=on_start,
        )


def queue_run(
    config: ProjectConfig,
    notebook: Path | str,
    parameters: dict[str, Any] | None,
    *,
    store: HistoryStore,
) -> RunRecord:
    """Check the parameters and record a queued run; nothing is executed.

    Raises
    ------
    NotebookError, ParameterError
        Before anything is recorded.
    """
    path, _, typed = load_prepared(config, notebook, parameters or {})
    run_id = new_id()
    output_path = config.runs_dir / path.stem / f"{run_id}.ipynb"
    record = new_record(
        config, path, typed, output_path, git_state(path.parent), run_id
    )
    store.add_run(record)
    return record


def execute_queued_run(
    config: ProjectConfig,
    record: RunRecord,
    *,
    timeout: float | None = None,
    kernel: str | None = None,
    store: HistoryStore,
    on_start: Callable[[RunRecord], None] | None = None,
) -> RunRecord:
    """Execute a run recorded by :func:`queue_run`, recording how it ends.

    A ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM turned into one) records the
    run cancelled and is raised again.
    """
    path, prepared, _ = load_prepared(
        config, config.root / record.notebook, record.parameters
    )
    output_path = (
        config.root / record.output_path
        if record.output_path
        else config.runs_dir / path.stem / f"{record.id}.ipynb"
    )
    from nbprod.run.liveness import heartbeat

    record.status = RUNNING
    record.started_at = now()
    # this process owns the run: if it dies, the next command marks it interrupted
    record.owner = process_owner()
    record.heartbeat_at = record.started_at
    store.update_run(record)
    if on_start:
        on_start(record)
    spec = make_spec(record, path, prepared, output_path, timeout, kernel, config)
    try:
        with heartbeat(store, record.owner):
            outcome = execute_run(spec)
    except KeyboardInterrupt:
        # nbclient has shut the kernel down on the way out
        record.status = CANCELLED
        record.finished_at = now()
        store.update_run(record)
        raise
    apply_outcome(record, outcome, output_path)
    store.update_run(record)
    monitor_finished_run(config, record, store)
    return record
