"""Export plans computed in worker processes, so the server answers while they run.

Planning a notebook is CPU work (analysis, black formatting its modules): in
the server's threads it held the GIL, and a burst of plan requests (a preview
per keystroke, Save All over many notebooks) left Jupyter's own requests
waiting. The plans run in a small pool of processes instead, started with
``spawn`` on the first request (a server has threads: forking it is unsafe)
and stopped with the server. While they start (a second or two, and their
imports), one plan at a time runs in a thread, so the first preview after the
server starts is not kept waiting.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from nbprod.config import ProjectConfig

T = TypeVar("T")


def plan_json(path: Path, config: ProjectConfig, text: str) -> dict[str, Any]:
    """The export plan of notebook ``text`` (saved at, or meant for, ``path``) as JSON.

    Runs in a worker process; an :class:`~nbprod.errors.NbprodError` crosses
    back whole (message, location, hint).
    """
    from nbprod.export import plan_notebook
    from nbprod.notebook.reader import parse_notebook

    nb = parse_notebook(text, config.relpath(path))
    return plan_notebook(path, config, nb).to_dict(config)


def _warm_up() -> None:
    # imported once per worker, before its first plan, not during it
    import black  # noqa: F401

    import nbprod.export.plan  # noqa: F401


def _ready() -> bool:
    return True


def plan_workers() -> int:
    """Processes to plan in: one per core, up to four (the OS, not the GIL, then
    shares the cores between them and the server's event loop)."""
    return max(1, min(4, os.cpu_count() or 1))


class PlanPool:
    """A lazily started process pool for plans, restarted if a worker dies.

    Parameters
    ----------
    workers : int
        The number of worker processes.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        #: True once workers failed twice in a row: plans then run in a thread
        self.broken = False
        #: True once a worker answered: until then one plan at a time runs in
        #: a thread, so the first preview does not wait for the workers to start
        self.ready = False
        self._thread_busy = False
        self._warming: asyncio.Future[bool] | None = None

    def executor(self) -> ProcessPoolExecutor:
        """The pool, started on first use."""
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_warm_up,
                )
            return self._executor

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in a worker process and await its result."""
        loop = asyncio.get_running_loop()
        if not self.ready and not self.broken:
            self._start_warming(loop)
            if not self._thread_busy:
                self._thread_busy = True
                try:
                    return await loop.run_in_executor(None, function, *args)
                finally:
                    self._thread_busy = False
        for _attempt in range(2):
            if self.broken:
                break
            executor = self.executor()
            try:
                return await loop.run_in_executor(executor, function, *args)
            except BrokenProcessPool:
                # a worker was killed (OOM): start a new pool and try once more
                with self._lock:
                    if self._executor is executor:
                        self._executor = None
                executor.shutdown(wait=False, cancel_futures=True)
        # workers that cannot even start (a __main__ that spawn cannot import
        # again): plan in a thread rather than not at all
        self.broken = True
        return await loop.run_in_executor(None, function, *args)

    def _start_warming(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._warming is not None:
            return
        self._warming = loop.run_in_executor(self.executor(), _ready)

        def done(future: asyncio.Future[bool]) -> None:
            self.ready = not future.cancelled() and future.exception() is None

        self._warming.add_done_callback(done)

    def shutdown(self) -> None:
        """Stop the worker processes (pending plans are cancelled)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
