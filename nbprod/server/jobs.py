"""Long work of the server (runs, batches, gate, push) in worker processes.

A job is recorded in the history before its worker starts, and the worker
writes its progress and outcome there, so what a browser sees survives a
reload, and a restarted server finds work whose worker is gone and marks it
interrupted instead of leaving it running forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Any

import psutil

from nbprod.config import ProjectConfig
from nbprod.errors import NbprodError
from nbprod.history.records import (
    CANCELLED,
    QUEUED,
    RUNNING,
    JobRecord,
    RunErrorInfo,
    new_id,
    now,
)
from nbprod.history.store import HistoryStore

ACTIVE = (QUEUED, RUNNING)
#: seconds a worker gets to stop its kernels after SIGTERM before it is killed
STOP_GRACE = 20.0
WORKER_MODULE = "nbprod.server.worker"

INTERRUPTED = "Interrupted"


class NothingToCancel(NbprodError):
    """A cancel for work that is not running under this server."""

    http_status = 409


def _worker_alive(pid: int | None) -> bool:
    """True when ``pid`` is a live nbprod worker (not a recycled pid)."""
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        return process.is_running() and WORKER_MODULE in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


class JobManager:
    """Starts, tracks and stops the server's worker processes.

    Parameters
    ----------
    config : ProjectConfig
        The project; workers start in its root folder.
    log : logging.Logger
        The server's log.
    """

    def __init__(self, config: ProjectConfig, log: logging.Logger) -> None:
        self.config = config
        self.log = log
        self.store = HistoryStore(config.database_url)
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self._reapers: set[asyncio.Task[None]] = set()

    async def start(
        self, kind: str, request: dict[str, Any], target: str | None = None
    ) -> JobRecord:
        """Record a job and start its worker process."""
        job = JobRecord(
            id=new_id("j-"),
            kind=kind,
            status=QUEUED,
            request=request,
            target=target,
            created_at=now(),
        )
        # SQLite may wait on a worker's write lock: never on the event loop.
        await asyncio.to_thread(self.store.add_job, job)
        env = dict(os.environ, NBPROD_DATABASE_URL=self.config.database_url)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            WORKER_MODULE,
            job.id,
            cwd=str(self.config.root),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
        )
        await asyncio.to_thread(self.store.update_job, job.id, pid=process.pid)
        job.pid = process.pid
        self.processes[job.id] = process
        reaper = asyncio.ensure_future(self._reap(job.id, process))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        return job

    async def _reap(self, job_id: str, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        self.processes.pop(job_id, None)
        job = await asyncio.to_thread(self.store.get_job, job_id)
        if job.status in ACTIVE:
            # the worker died without recording an outcome (killed, crashed)
            self.log.warning("nbprod: worker of job %s exited with %s", job_id, code)
            why = f"the worker process exited with code {code}"
            await asyncio.to_thread(self._interrupt, job, why)

    def _interrupt(self, job: JobRecord, why: str) -> None:
        """Record a job, and its run or batch, as interrupted."""
        error = {
            "message": f"interrupted: {why}",
            "location": None,
            "hint": "start it again",
        }
        self.store.update_job(job.id, status=CANCELLED, error=error, finished_at=now())
        if job.kind == "run" and job.target:
            run = self.store.get_run(job.target)
            if run.status in ACTIVE:
                run.status = CANCELLED
                run.finished_at = now()
                run.error = RunErrorInfo(None, None, INTERRUPTED, why)
                self.store.update_run(run)
        elif job.kind == "batch" and job.target:
            batch = self.store.get_batch(job.target)
            if batch.status in ACTIVE:
                self.store.cancel_unfinished(job.target)
                self.store.finish_batch(job.target, CANCELLED, now())

    def recover(self) -> list[str]:
        """Mark jobs whose worker is gone (a server restart) interrupted; return their ids."""
        stale = [
            job
            for job in self.store.find_jobs(statuses=ACTIVE)
            if not _worker_alive(job.pid)
        ]
        for job in stale:
            self._interrupt(job, "the Jupyter server stopped before the job finished")
        return [job.id for job in stale]

    async def cancel_target(self, target: str) -> JobRecord:
        """Stop the worker running a batch (or run); it records the cancellation itself."""
        jobs = await asyncio.to_thread(self.store.find_jobs, target, ACTIVE)
        for job in reversed(jobs):
            process = self.processes.get(job.id)
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                return job
        raise NothingToCancel(
            f"{target} is not running under this server",
            hint="a batch started with `nbprod batch` stops with Ctrl-C in its terminal",
        )

    async def stop(self) -> None:
        """Stop every worker (server shutdown): SIGTERM, then kill after a grace period."""
        running = [p for p in self.processes.values() if p.returncode is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        if running:
            try:
                await asyncio.wait_for(
                    asyncio.gather(*(p.wait() for p in running)), STOP_GRACE
                )
            except asyncio.TimeoutError:
                for process in running:
                    if process.returncode is None:
                        process.kill()
        for reaper in list(self._reapers):
            reaper.cancel()
        self.store.close()
