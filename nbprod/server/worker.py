"""The worker process of a server job: ``python -m nbprod.server.worker JOB_ID``.

The Jupyter server never runs notebooks, the gate or git on its event loop: it
records a job in the history and starts this process, which reads the job,
does the work through the same core functions as the command line, and writes
progress and the outcome back to the job. SIGTERM (a cancel, or the server
shutting down) stops the work cleanly: kernels are shut down and unfinished
runs are recorded as cancelled.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from nbprod.config import ProjectConfig, load_config
from nbprod.errors import NbprodError
from nbprod.history.records import (
    CANCELLED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    JobRecord,
    now,
)
from nbprod.history.store import HistoryStore
from nbprod.run.recovery import end_unfinished
from nbprod.server.jobs import SPARE_ARGUMENT


class _Progress:
    """Writes each gate step's state to the job as it changes."""

    def __init__(self, store: HistoryStore, job_id: str) -> None:
        self.store = store
        self.job_id = job_id
        self.steps: list[dict[str, Any]] = []

    def __call__(self, name: str, result: Any) -> None:
        status = "running" if result is None else result.status
        for step in self.steps:
            if step["name"] == name:
                step["status"] = status
                break
        else:
            self.steps.append({"name": name, "status": status})
        self.store.update_job(self.job_id, steps=list(self.steps))


def _run(config: ProjectConfig, store: HistoryStore, job: JobRecord) -> tuple[str, Any]:
    from nbprod.run.single import execute_queued_run

    assert job.target is not None
    record = store.get_run(job.target)
    record = execute_queued_run(
        config, record, timeout=job.request.get("timeout"), store=store
    )
    return (SUCCEEDED if record.status == SUCCEEDED else FAILED), record.to_dict()


def _batch(
    config: ProjectConfig, store: HistoryStore, job: JobRecord, stop: threading.Event
) -> tuple[str, Any]:
    from nbprod.run.batch import resume_batch

    assert job.target is not None
    result = resume_batch(
        config,
        job.target,
        jobs=job.request.get("jobs"),
        executor=job.request.get("executor"),
        scheduler=job.request.get("scheduler") or None,
        timeout=job.request.get("timeout"),
        stop=stop,
        store=store,
    )
    if result.interrupted:
        return CANCELLED, result.batch.to_dict()
    return (SUCCEEDED if result.ok else FAILED), result.batch.to_dict()


def _gate(
    config: ProjectConfig, store: HistoryStore, job: JobRecord
) -> tuple[str, Any]:
    from nbprod.gate.runner import run_gate

    progress = _Progress(store, job.id)
    if job.request.get("export"):
        from types import SimpleNamespace

        from nbprod.export import export_notebooks

        # as push does: the gate then checks the files a push would commit
        progress("export", None)
        export_notebooks(config)
        progress("export", SimpleNamespace(status="passed"))
    report = run_gate(
        config,
        only=tuple(job.request.get("only") or ()),
        skip=tuple(job.request.get("skip") or ()),
        store=store,
        on_step=progress,
    )
    return (SUCCEEDED if report.ok else FAILED), report.to_dict()


def _push(
    config: ProjectConfig, store: HistoryStore, job: JobRecord
) -> tuple[str, Any]:
    from types import SimpleNamespace

    from nbprod.errors import GateFailedError
    from nbprod.ship.push import push_project

    progress = _Progress(store, job.id)
    done = SimpleNamespace(status="passed")

    def on_progress(message: str) -> None:
        # commit and push are steps of the job too, so the panel shows them live
        if message.startswith("git commit"):
            progress("commit", None)
        elif message.startswith("git push"):
            if any(step["name"] == "commit" for step in progress.steps):
                progress("commit", done)
            progress("push", None)

    try:
        result = push_project(
            config,
            job.request["message"],
            remote=job.request.get("remote"),
            branch=job.request.get("branch"),
            store=store,
            on_step=progress,
            on_progress=on_progress,
        )
        if result.pushed:
            progress("push", done)
    except GateFailedError as exc:
        # refused: the report says why, and nothing was committed or pushed
        return FAILED, {"pushed": False, "commit": None, "report": exc.report.to_dict()}
    return (SUCCEEDED if result.pushed else FAILED), result.to_dict()


def _error_json(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, NbprodError):
        return exc.to_dict()
    return {
        "message": f"unexpected error: {type(exc).__name__}: {exc}",
        "location": None,
        "hint": "see the Jupyter server's log",
    }


def end_target(
    store: HistoryStore, job: JobRecord, status: str, error: dict[str, Any] | None
) -> None:
    """Give the job's run or batch a final state when the work stopped without one."""
    if job.target and job.kind in ("run", "batch"):
        error = error or {}
        end_unfinished(
            store,
            job.kind,
            job.target,
            status,
            error.get("type", "Error"),
            error.get("message"),
        )


def run_job(job_id: str, root: Path) -> int:
    """Do the work of one job and record how it ended; return an exit code.

    Whatever is raised, the job, and the run or batch it was given, end in a
    final state with the error.
    """
    config = load_config(root)
    store = HistoryStore(config.database_url)
    stop = threading.Event()
    job = store.get_job(job_id)

    def on_sigterm(signum: int, frame: Any) -> None:
        # A batch stops between runs and cancels what runs; anything else
        # unwinds like Ctrl-C, which shuts its kernel down on the way out.
        stop.set()
        if job.kind != "batch":
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    status, result, error = FAILED, None, None
    try:
        store.update_job(job_id, status=RUNNING)
        if job.kind == "run":
            status, result = _run(config, store, job)
        elif job.kind == "batch":
            status, result = _batch(config, store, job, stop)
        elif job.kind == "gate":
            status, result = _gate(config, store, job)
        elif job.kind == "push":
            status, result = _push(config, store, job)
        else:
            error = {
                "message": f"unknown job kind {job.kind!r}",
                "location": None,
                "hint": None,
            }
    except KeyboardInterrupt:
        status = CANCELLED
    except NbprodError as exc:
        error = _error_json(exc)
    except BaseException as exc:  # recorded for the UI, traceback to the log
        traceback.print_exc()
        error = _error_json(exc)
    try:
        if status != SUCCEEDED:
            end_target(store, job, status, error)
    finally:
        store.update_job(
            job_id, status=status, result=result, error=error, finished_at=now()
        )
        store.close()
    return 0 if status == SUCCEEDED else 1


def wait_for_job() -> str | None:
    """As a spare worker: do the imports every job needs, then read the job id.

    None when the server closed the pipe first (it stopped, or died).
    """
    import nbprod.run.batch
    import nbprod.run.single  # noqa: F401
    from nbprod.run.execute import warm_imports

    warm_imports()
    line = sys.stdin.readline().strip()
    return line or None


def main(argv: list[str]) -> int:
    """``python -m nbprod.server.worker JOB_ID`` (or ``--spare``: the id on stdin)."""
    job_id = wait_for_job() if argv[0] == SPARE_ARGUMENT else argv[0]
    return run_job(job_id, Path.cwd()) if job_id else 0


if __name__ == "__main__":  # pragma: no cover - started by the server
    sys.exit(main(sys.argv[1:]))
