"""Long work of the server (runs, batches, gate, push) in worker processes.

A job is recorded in the history before its worker starts, and the worker
writes its progress and outcome there, so what a browser sees survives a
reload, and a restarted server finds work whose worker is gone and marks it
interrupted instead of leaving it running forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

import psutil

from nbprod.config import ProjectConfig
from nbprod.errors import NbprodError
from nbprod.history.owner import owner_alive, process_owner
from nbprod.history.records import (
    CANCELLED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    TERMINAL,
    JobRecord,
    RunErrorInfo,
    new_id,
    now,
)
from nbprod.history.store import HistoryStore
from nbprod.run.recovery import recover_orphans

ACTIVE = (QUEUED, RUNNING)
#: seconds a worker gets to stop its kernels after SIGTERM before it is killed
STOP_GRACE = 20.0
WORKER_MODULE = "nbprod.server.worker"
#: the worker's argument for "wait for a job id on stdin" (a spare worker)
SPARE_ARGUMENT = "--spare"

#: the error name of a run whose worker died
INTERRUPTED_ERROR = "Interrupted"


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
    env : dict, optional
        Added to each worker's environment (where the warm templates are).
    """

    def __init__(
        self,
        config: ProjectConfig,
        log: logging.Logger,
        env: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.env = dict(env or {})
        self.log = log
        self.store = HistoryStore(config.database_url)
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self._reapers: set[asyncio.Task[None]] = set()
        #: a worker that has done its imports and waits for a job id on stdin
        self._spare: asyncio.subprocess.Process | None = None
        self._spare_starting: asyncio.Task[None] | None = None
        self._stopping = False

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
        process = await self._take_spare(job.id) or await self._spawn(job.id)
        self.keep_spare()
        await asyncio.to_thread(self.store.update_job, job.id, pid=process.pid)
        job.pid = process.pid
        self.processes[job.id] = process
        reaper = asyncio.ensure_future(self._reap(job.id, process))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        return job

    async def _spawn(self, job_id: str | None) -> asyncio.subprocess.Process:
        """Start a worker for ``job_id``, or a spare one (``None``) that waits for an id."""
        env = dict(os.environ, **self.env, NBPROD_DATABASE_URL=self.config.database_url)
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            WORKER_MODULE,
            job_id or SPARE_ARGUMENT,
            cwd=str(self.config.root),
            env=env,
            stdin=asyncio.subprocess.DEVNULL if job_id else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
        )

    def keep_spare(self) -> None:
        """Have a spare worker waiting (started in the background when there is none).

        A worker's imports (papermill, nbclient, the history) take about a
        second: a spare has them done when the Run button is pressed.
        """
        if self._spare is None and self._spare_starting is None and not self._stopping:
            task = asyncio.ensure_future(self._start_spare())
            self._spare_starting = task

    async def _start_spare(self) -> None:
        try:
            self._spare = await self._spawn(None)
        except OSError as exc:
            self.log.warning("nbprod: could not start a spare worker: %s", exc)
        finally:
            self._spare_starting = None

    async def _take_spare(self, job_id: str) -> asyncio.subprocess.Process | None:
        """Hand ``job_id`` to the spare worker; None when there is no live one."""
        if self._spare_starting is not None:
            await self._spare_starting
        spare, self._spare = self._spare, None
        if spare is None or spare.returncode is not None or spare.stdin is None:
            return None
        try:
            spare.stdin.write(f"{job_id}\n".encode())
            await spare.stdin.drain()
            spare.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            return None  # it died waiting: a new worker takes the job
        return spare

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
        """Record a job, and its run or batch, as interrupted (keeping finished results)."""
        error = {
            "message": f"interrupted: {why}",
            "location": None,
            "hint": (
                f"resume it with: nbprod batch --resume {job.target}"
                if job.kind == "batch"
                else "start it again"
            ),
        }
        self.store.update_job(job.id, status=CANCELLED, error=error, finished_at=now())
        # a worker that took its run or batch owns it: the history's repair reads
        # the outputs that reached disk
        recover_orphans(self.config, self.store)
        if job.kind == "run" and job.target:
            run = self.store.get_run(job.target)
            if run.status in ACTIVE:
                run.status = INTERRUPTED
                run.finished_at = now()
                run.error = RunErrorInfo(None, None, INTERRUPTED_ERROR, why)
                self.store.update_run(run)
        elif job.kind == "batch" and job.target:
            # queued, never taken by a worker (it died first)
            self.store.interrupt_batch(job.target, now())

    def recover(self) -> list[str]:
        """Repair what a restart finds stuck; return the ids of the jobs it ended.

        Jobs whose worker is gone end interrupted with their run or batch;
        work of any other dead process (a killed ``nbprod batch``) is marked
        interrupted too; a batch left queued by a job that ended without
        taking it (nbprod before 0.2) is interrupted, so a resume can run it.
        """
        stale = [
            job
            for job in self.store.find_jobs(statuses=ACTIVE)
            if not _worker_alive(job.pid)
        ]
        for job in stale:
            self._interrupt(job, "the Jupyter server stopped before the job finished")
        recover_orphans(self.config, self.store)
        for batch_id in self.store.stuck_batches():
            self.store.interrupt_batch(batch_id, now())
        return [job.id for job in stale]

    async def cancel_target(self, target: str) -> JobRecord | None:
        """Stop a batch (or run) this server started, or end one found orphaned.

        A worker of this server gets SIGTERM and records the cancellation
        itself; so does a worker a previous server started that still runs.
        A batch whose process is gone (or that no process took) is cancelled
        here and now. Work of a live process outside the server (``nbprod
        batch`` in a terminal) is left alone.
        """
        jobs = await asyncio.to_thread(self.store.find_jobs, target, ACTIVE)
        for job in reversed(jobs):
            process = self.processes.get(job.id)
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                return job
            if _worker_alive(job.pid):  # started by this server before a restart
                assert job.pid is not None
                os.kill(job.pid, signal.SIGTERM)
                return job
        return await asyncio.to_thread(self._cancel_orphan, target, jobs)

    def _cancel_orphan(self, target: str, jobs: list[JobRecord]) -> None:
        batch = self.store.get_batch(target)
        if batch.status in TERMINAL:
            raise NothingToCancel(
                f"{target} is not running under this server: it {batch.status}",
                hint=(
                    f"resume it with: nbprod batch --resume {target}"
                    if batch.status in (CANCELLED, INTERRUPTED)
                    else None
                ),
            )
        owner = batch.owner
        if (
            owner is not None
            and owner != process_owner()
            and owner_alive(owner, batch.heartbeat_at)
        ):
            raise NothingToCancel(
                f"{target} is not running under this server "
                f"(pid {owner.pid} on {owner.host} runs it)",
                hint="it was started from a terminal: stop it there (Ctrl-C)",
            )
        # no live process has it: cancelled now, so nothing waits on it forever
        self.store.cancel_unfinished(target)
        self.store.finish_batch(target, CANCELLED, now())
        for job in jobs:
            self.store.update_job(
                job.id,
                status=CANCELLED,
                error={"message": "cancelled", "location": None, "hint": None},
                finished_at=now(),
            )

    async def stop(self) -> None:
        """Stop every worker (server shutdown): SIGTERM, then kill after a grace period."""
        self._stopping = True
        if self._spare_starting is not None:
            await self._spare_starting
        if self._spare is not None and self._spare.stdin is not None:
            self._spare.stdin.close()  # end of input: the spare exits
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._spare.wait(), 5)
            if self._spare.returncode is None:
                self._spare.kill()
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
