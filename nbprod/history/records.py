"""The records of the run history, as plain dataclasses (no database types)."""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from nbprod.history.owner import Owner
from nbprod.values import short_text, to_display

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
#: the process running it died (killed, crashed, the machine went down); what
#: reached disk before is kept, and ``nbprod batch --resume`` runs the rest
INTERRUPTED = "interrupted"
RUN_STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)
#: statuses no process works on any more. The JSON of runs and batches carries
#: ``"terminal"`` from this list, so front doors (TypeScript too) never keep
#: a copy of it. A batch leaves ``cancelled`` or ``interrupted`` only when
#: it is resumed.
TERMINAL = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)
#: statuses of a run that ran to its end; resuming a batch runs every other one
COMPLETED = (SUCCEEDED, FAILED)


def now() -> _dt.datetime:
    """Return the current time in UTC, to the millisecond."""
    stamp = _dt.datetime.now(_dt.timezone.utc)
    return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


def new_id(prefix: str = "") -> str:
    """Return a new id that sorts by time: ``20240131-142501-3f9a1c``."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{prefix}{stamp}-{secrets.token_hex(3)}"


def _iso(value: _dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class RunErrorInfo:
    """Why a run failed: the cell, and the exception's name and message.

    Attributes
    ----------
    cell : int or None
        Zero-based index of the failing cell in the executed notebook.
    cell_id : str or None
        The failing cell's nbformat id.
    ename : str
        The exception name (``ValueError``, ``DeadKernelError``, ``CellTimeoutError``).
    evalue : str
        The exception message.
    """

    cell: int | None
    cell_id: str | None
    ename: str
    evalue: str

    def to_dict(self) -> dict[str, Any]:
        """Return the error as a JSON-ready mapping."""
        return {
            "cell": self.cell,
            "cell_id": self.cell_id,
            "ename": self.ename,
            "evalue": self.evalue,
        }


@dataclass
class RunRecord:
    """One run of a notebook, as the history keeps it.

    Attributes
    ----------
    id : str
        The run id (also the output notebook's file name).
    notebook : str
        The notebook, relative to the project root.
    parameters : dict
        The parameters as Python values (tuples, sets, dates kept).
    status : str
        ``queued``, ``running``, ``succeeded``, ``failed``, ``cancelled`` or
        ``interrupted``.
    batch_id : str or None
        The batch the run belongs to.
    owner : Owner or None
        The process running it (for a run of a batch: None, the batch has one).
    heartbeat_at : datetime or None
        The owner's last sign of life.
    """

    id: str
    notebook: str
    parameters: dict[str, Any]
    status: str = QUEUED
    batch_id: str | None = None
    created_at: _dt.datetime | None = None
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    duration: float | None = None
    output_path: str | None = None
    error: RunErrorInfo | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    kernel: str | None = None
    nbprod_version: str | None = None
    papermill_version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    owner: Owner | None = None
    heartbeat_at: _dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the run as a JSON-ready mapping (parameters in display form)."""
        return {
            "id": self.id,
            "batch_id": self.batch_id,
            "notebook": self.notebook,
            "parameters": to_display(self.parameters),
            # as the CLI shows them: JSON numbers lose a float's ".0" in JavaScript
            "parameter_text": {k: short_text(v) for k, v in self.parameters.items()},
            "status": self.status,
            "terminal": self.status in TERMINAL,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration": self.duration,
            "output_path": self.output_path,
            "error": self.error.to_dict() if self.error else None,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "kernel": self.kernel,
            "nbprod_version": self.nbprod_version,
            "papermill_version": self.papermill_version,
            "metrics": self.metrics,
            "owner": self.owner.to_dict() if self.owner else None,
        }


@dataclass
class BatchRecord:
    """A batch of runs of one notebook over parameter sets.

    Attributes
    ----------
    id : str
        The batch id (``b-...``).
    notebook : str
        The notebook, relative to the project root.
    status : str
        ``queued``, ``running``, ``succeeded`` (every run succeeded),
        ``failed`` (some run failed), ``cancelled`` (stopped before every run
        finished) or ``interrupted`` (its process died).
    executor : str
        ``local`` or ``dask``.
    jobs : int
        Parallel runs.
    output_dir : str
        Folder of the batch's output notebooks.
    counts : dict
        Number of runs per status.
    owner : Owner or None
        The process running it.
    heartbeat_at : datetime or None
        The owner's last sign of life.
    """

    id: str
    notebook: str
    status: str
    executor: str
    jobs: int
    output_dir: str
    created_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    owner: Owner | None = None
    heartbeat_at: _dt.datetime | None = None

    @property
    def total(self) -> int:
        """The number of runs in the batch."""
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """Return the batch as a JSON-ready mapping."""
        return {
            "id": self.id,
            "notebook": self.notebook,
            "status": self.status,
            "terminal": self.status in TERMINAL,
            "executor": self.executor,
            "jobs": self.jobs,
            "output_dir": self.output_dir,
            "created_at": _iso(self.created_at),
            "finished_at": _iso(self.finished_at),
            "counts": self.counts,
            "total": self.total,
            "owner": self.owner.to_dict() if self.owner else None,
            "resume": (
                f"nbprod batch --resume {self.id}"
                if self.status in (CANCELLED, INTERRUPTED)
                else None
            ),
        }


@dataclass
class JobRecord:
    """Work the server runs in a worker process (see :class:`~nbprod.history.models.JobRow`).

    Attributes
    ----------
    id : str
        The job id (``j-...``).
    kind : str
        ``run``, ``batch``, ``gate`` or ``push``.
    status : str
        ``queued``, ``running``, ``succeeded``, ``failed`` or ``cancelled``.
    target : str or None
        The run or batch the job executes.
    pid : int or None
        The worker process.
    request : dict
        What was asked (the request body, checked).
    steps : list of dict
        Progress: ``{"name", "status"}`` per step.
    result : dict or None
        The final report (a gate report, a push result).
    error : dict or None
        An ``NbprodError`` as JSON, or an unexpected failure's message.
    """

    id: str
    kind: str
    status: str
    request: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    pid: int | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the job as a JSON-ready mapping."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "target": self.target,
            "request": self.request,
            "steps": self.steps,
            "result": self.result,
            "error": self.error,
            "created_at": _iso(self.created_at),
            "finished_at": _iso(self.finished_at),
        }
