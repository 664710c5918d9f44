"""Repairing work whose process died, and opening the history for a command.

Every front door opens the history through :func:`open_history`, which first
looks for batches and runs whose owner is gone (see
:mod:`nbprod.history.owner`) and marks them ``interrupted``. Nothing that
reached disk is lost: a run whose output notebook was completely written
before its process died is recorded with that outcome (status, error cell,
metrics, times), read from the notebook.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from nbprod.config import ProjectConfig
from nbprod.history.owner import owner_alive
from nbprod.history.records import (
    FAILED,
    INTERRUPTED,
    SUCCEEDED,
    RunErrorInfo,
    RunRecord,
    now,
)
from nbprod.history.store import UNFINISHED, HistoryStore
from nbprod.run.metrics import read_metrics


@dataclass
class Recovery:
    """What :func:`recover_orphans` repaired.

    Attributes
    ----------
    batches : list of str
        Batches marked interrupted.
    runs : list of str
        Runs marked interrupted.
    kept : list of str
        Runs whose complete output notebook gave their outcome.
    """

    batches: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _when(value: object) -> _dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=_dt.timezone.utc)


def outcome_on_disk(config: ProjectConfig, run: RunRecord) -> RunRecord | None:
    """The run as its output notebook tells it, when that notebook is complete.

    A worker writes the output notebook once, atomically, after the last cell
    (or the failing one), with papermill's end time. A notebook without it,
    or whose cells did not all run and none failed (a cancelled run), is not
    an outcome.
    """
    if not run.output_path:
        return None
    import nbformat

    path = config.root / run.output_path
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError, AttributeError):  # missing, or not a notebook
        return None
    papermill = nb.metadata.get("papermill", {})
    ended = _when(papermill.get("end_time"))
    if ended is None:
        return None
    error = None
    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            found = [
                o for o in cell.get("outputs", []) if o.get("output_type") == "error"
            ]
            ename = (
                found[0].get("ename", "CellExecutionError")
                if found
                else "CellExecutionError"
            )
            evalue = found[0].get("evalue", "") if found else ""
            error = RunErrorInfo(index, cell.get("id"), ename, evalue)
            break
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if error is None and any(c.get("execution_count") is None for c in code):
        return None  # stopped part-way without an error: cancelled
    run.status = FAILED if (error or papermill.get("exception")) else SUCCEEDED
    run.error = error
    run.started_at = _when(papermill.get("start_time")) or run.started_at
    run.finished_at = ended
    duration = papermill.get("duration")
    run.duration = (
        round(float(duration), 3) if isinstance(duration, (int, float)) else None
    )
    run.metrics = read_metrics(nb)
    return run


def _interrupt_run(
    config: ProjectConfig, store: HistoryStore, run: RunRecord, report: Recovery
) -> None:
    kept = outcome_on_disk(config, run)
    if kept is not None:
        store.update_run(kept)
        report.kept.append(run.id)
        return
    run.status = INTERRUPTED
    run.finished_at = run.heartbeat_at or now()
    run.error = RunErrorInfo(
        None, None, "Interrupted", "the process running it ended before it finished"
    )
    store.update_run(run)
    report.runs.append(run.id)


def recover_orphans(config: ProjectConfig, store: HistoryStore) -> Recovery:
    """Mark batches and runs whose owner is gone interrupted, keeping what reached disk.

    Parameters
    ----------
    config : ProjectConfig
        The project (output notebooks are relative to its root).
    store : HistoryStore
        The history.

    Returns
    -------
    Recovery
        What was repaired (usually nothing).
    """
    report = Recovery()
    batches, runs = store.unfinished_owned()
    stamp = now()
    for batch in batches:
        if batch.owner is None or owner_alive(batch.owner, batch.heartbeat_at, stamp):
            continue
        # read the outputs first: a run is "interrupted" only if nothing of it is on disk
        left = [
            run
            for run in store.list_runs(batch_id=batch.id, limit=None)
            if run.status in ("queued", "running")
        ]
        if not store.interrupt_batch(batch.id, batch.heartbeat_at or stamp):
            continue  # another process repaired it meanwhile
        report.batches.append(batch.id)
        for run in left:
            if run.status == "running":
                kept = outcome_on_disk(config, run)
                if kept is not None:
                    store.update_run(kept)
                    report.kept.append(run.id)
                    continue
            report.runs.append(run.id)
    for run in runs:
        if run.owner is not None and not owner_alive(
            run.owner, run.heartbeat_at, stamp
        ):
            _interrupt_run(config, store, run, report)
    return report


@contextlib.contextmanager
def open_history(
    config: ProjectConfig, store: HistoryStore | None = None
) -> Iterator[HistoryStore]:
    """The caller's store, or the project's opened (repairing orphaned work) and closed after.

    Parameters
    ----------
    config : ProjectConfig
        The project.
    store : HistoryStore, optional
        A store the caller keeps open; used as it is.
    """
    if store is not None:
        yield store
        return
    opened = HistoryStore(config.database_url)
    try:
        recover_orphans(config, opened)
        yield opened
    finally:
        opened.close()


def end_unfinished(
    store: HistoryStore,
    kind: str,
    target: str,
    status: str,
    error_type: str = "Error",
    message: str | None = None,
) -> None:
    """Give a run or batch a final state when the work on it stopped without one.

    Whoever executes queued work owns its lifecycle (the server's job worker,
    the widgets' detached runner): a failure before or between runs (an
    executor that cannot start, a notebook changed since it was queued) must
    not leave it queued or running for ever. A run takes ``status`` (with the
    error when it failed); a batch takes ``status`` and its runs that never
    finished are cancelled, so that a resume runs them.

    Parameters
    ----------
    store : HistoryStore
        The history holding the work.
    kind : str
        ``"run"`` or ``"batch"``.
    target : str
        The run's or batch's id.
    status : str
        The final status (``failed``, ``cancelled``, …).
    error_type, message : str
        The error a failed run records.
    """
    if kind == "run":
        run = store.get_run(target)
        if run.status in UNFINISHED:
            run.status = status
            run.finished_at = now()
            if status == FAILED:
                run.error = RunErrorInfo(None, None, error_type, message or status)
            store.update_run(run)
        return
    if store.get_batch(target).status in UNFINISHED:
        store.cancel_unfinished(target)
        store.finish_batch(target, status, now())
