"""Batch executors, papermill style: a registry of named ways to execute runs.

An executor takes :class:`~nbprod.run.execute.RunSpec` objects and returns
``concurrent.futures.Future`` objects of :class:`~nbprod.run.execute.RunOutcome`.
``local`` uses warm worker processes on this machine; ``dask`` sends runs to a
Dask distributed cluster. Register more with :func:`register_executor`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import forkserver
from typing import Any

import psutil

from nbprod.config import default_jobs
from nbprod.errors import ExecutorError, ParameterError
from nbprod.run.execute import RunOutcome, RunSpec, execute_run
from nbprod.run.liveness import init_batch_worker

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "executor_names",
    "get_executor",
    "register_executor",
]


class Executor(ABC):
    """Runs specs somewhere and hands back futures of their outcomes.

    Attributes
    ----------
    name : str
        The registry name.
    slots : int
        How many runs it executes at once; the batch keeps that many submitted.
    returns_notebooks : bool
        True when workers cannot write to this machine's disk, so they return
        the executed notebook and the driver writes it.
    """

    name = ""
    returns_notebooks = False

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)

    @abstractmethod
    def submit(self, spec: RunSpec) -> Future[RunOutcome]:
        """Start one run."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the runs in progress (their futures then report ``cancelled`` or fail)."""

    @abstractmethod
    def close(self) -> None:
        """Release workers; after :meth:`cancel`, make sure no kernel is left behind."""

    def recover(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Make the executor usable again after a worker crashed (default: nothing)."""

    def share_template(
        self, modules: tuple[str, ...], forced: tuple[str, ...]
    ) -> str | None:
        """Start a warm template the workers fork from; its folder, or None.

        By default (remote workers) each worker keeps its own.
        """
        return None


def start_forkserver() -> Any:
    """Start the forkserver local workers are forked from; its multiprocessing context.

    Its imports (papermill, nbclient) start now, beside whatever this process
    does before the first run (``nbprod batch`` calls this first thing, the
    executor again: once started, it is only looked up).
    """
    context = multiprocessing.get_context("forkserver")
    preload = [
        # nbprod's __init__ defers jsonschema's slow optional import
        "nbprod.run.liveness",  # the forkserver dies with the batch
        "nbprod.run.worker_preload",  # what every worker's first run needs
    ]
    if "nbprod.cli" in sys.modules:
        # Each worker runs the parent's main script again (Python 3.11's
        # forkserver cannot preload "__main__": CPython gh-126631); for the
        # `nbprod` command, that script is one import of nbprod.cli.
        preload.append("nbprod.cli")
    context.set_forkserver_preload(preload)
    forkserver.ensure_running()
    return context


#: the thread counts of BLAS and OpenMP libraries (numpy, scipy, scikit-learn)
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def threads_per_run(slots: int) -> dict[str, str]:
    """The thread counts for a kernel among ``slots`` running at once, as joblib gives its workers.

    BLAS and OpenMP start a thread per core in every process, so ``slots``
    kernels run ``slots`` times as many threads as there are cores, and
    OpenBLAS's waiting threads spin: on the 2-core machine a batch of 8 runs
    of the example's 02_train took 4.2 s with 2 threads per kernel and 2.4 s
    with 1. Each kernel gets ``cores // slots`` (at least 1); a variable the
    user set is left as it is, and one run at a time changes nothing.

    Parameters
    ----------
    slots : int
        Kernels running at once.

    Returns
    -------
    dict of str to str
        The variables to set in the workers (empty when none).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if slots <= 1 or any(name in os.environ for name in THREAD_VARIABLES):
        return {}
    return {name: str(max(1, cores // slots)) for name in THREAD_VARIABLES}


def init_local_batch_worker(threads: dict[str, str]) -> None:
    """Initializer of a local batch worker: its kernels' thread counts, then the usual set-up."""
    os.environ.update(threads)
    init_batch_worker()


class LocalExecutor(Executor):
    """Warm worker processes on this machine (one kernel each at a time).

    Workers are forked from a forkserver that has already imported papermill
    and nbclient, so neither start-up nor any run pays for those imports.
    """

    name = "local"

    def __init__(self, slots: int | None = None, **_: Any) -> None:
        super().__init__(slots or default_jobs())
        self._context = start_forkserver()
        self._pool = self._new_pool()
        self._kernels: list[psutil.Process] = []

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=self._context,
            # workers (and their kernels) die with the batch (nbprod.run.liveness)
            initializer=init_local_batch_worker,
            initargs=(threads_per_run(self.slots),),
        )

    def submit(self, spec: RunSpec) -> Future[RunOutcome]:
        return self._pool.submit(execute_run, spec)

    def share_template(
        self, modules: tuple[str, ...], forced: tuple[str, ...]
    ) -> str | None:
        """One template for all the workers, starting now, beside the workers' own start.

        It replaces one template per worker: on a 2-core machine that is a
        second interpreter importing ipykernel and the notebook's imports
        saved, and the first run does not wait for it. When this process's
        own templates come from a Jupyter server, its workers use those.
        """
        from nbprod.run import warm

        server = os.environ.get(warm.SHARED_ENV)
        if server and warm.shared_template_alive(server, modules, forced):
            return None  # the workers inherit it: the server's templates
        folder = warm.share_templates()
        warm.get_template(modules, forced)
        return folder

    def _workers(self) -> list[psutil.Process]:
        processes = getattr(self._pool, "_processes", None) or {}
        found = []
        for pid in list(processes):
            with contextlib.suppress(psutil.NoSuchProcess):
                found.append(psutil.Process(pid))
        return found

    def cancel(self) -> None:
        # remember the kernels now: once their worker is gone they are
        # reparented and no longer findable as its children
        for worker in self._workers():
            try:
                self._kernels.extend(worker.children(recursive=True))
                os.kill(worker.pid, signal.SIGTERM)
            except (psutil.NoSuchProcess, ProcessLookupError):
                pass

    def recover(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._kernels.extend(
            child for worker in self._workers() for child in _children(worker)
        )
        self._pool.shutdown(wait=True, cancel_futures=True)
        # a kernel whose worker was stopped mid-shutdown must not outlive the batch
        for kernel in self._kernels:
            try:
                if kernel.is_running():
                    kernel.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(self._kernels, timeout=5)


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


class DaskExecutor(Executor):
    """Runs on a Dask distributed cluster; workers return the executed notebooks.

    Parameters
    ----------
    slots : int, optional
        Runs at once; default: the cluster's total worker threads.
    scheduler : str or distributed.Client
        The scheduler address (``tcp://host:8786``) or a connected client.
    """

    name = "dask"
    returns_notebooks = True

    def __init__(
        self, slots: int | None = None, scheduler: Any = None, **_: Any
    ) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError(
                "the dask executor needs dask and distributed",
                hint="pip install 'nbprod[dask]'",
            ) from None
        if scheduler is None:
            raise ExecutorError(
                "the dask executor needs a scheduler address",
                hint="give the address of a Dask scheduler, e.g. tcp://host:8786",
            )
        self._own_client = not isinstance(scheduler, Client)
        if self._own_client:
            try:
                # the wait is dask's `distributed.comm.timeouts.connect` setting
                # (env DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT)
                self._client = Client(scheduler)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                    hint="check the address and that the scheduler is running",
                ) from None
        else:
            self._client = scheduler
        with contextlib.suppress(Exception):  # an old or locked-down cluster
            from nbprod.run.warm import dask_worker_plugin

            self._client.register_plugin(dask_worker_plugin())
        threads = sum(self._client.nthreads().values())
        super().__init__(slots or threads or 1)
        self._futures: list[Any] = []

    def submit(self, spec: RunSpec) -> Future[RunOutcome]:
        result: Future[RunOutcome] = Future()
        future = self._client.submit(
            execute_run, spec, key=f"nbprod-run-{spec.run_id}", pure=False
        )
        self._futures.append(future)

        def done(finished: Any) -> None:
            if result.done():
                return
            try:
                result.set_result(finished.result())
            except BaseException as exc:  # a cancelled or lost task, a worker crash
                result.set_exception(exc)

        future.add_done_callback(done)
        return result

    def cancel(self) -> None:
        # Dask cannot interrupt a task that is running: its kernel finishes the
        # run on the worker, and the result is dropped
        self._client.cancel([f for f in self._futures if not f.done()])

    def close(self) -> None:
        self._futures.clear()
        if self._own_client:
            self._client.close()


_EXECUTORS: dict[str, Callable[..., Executor]] = {}


def register_executor(name: str, factory: Callable[..., Executor]) -> None:
    """Register an executor factory under ``name`` (called with ``slots=`` and ``scheduler=``)."""
    _EXECUTORS[name] = factory


def executor_names() -> list[str]:
    """Return the registered executor names."""
    return sorted(_EXECUTORS)


def get_executor(
    name: str, slots: int | None = None, scheduler: Any = None
) -> Executor:
    """Create the executor registered as ``name``.

    Raises
    ------
    ParameterError
        When no executor has that name.
    ExecutorError
        When it cannot start.
    """
    factory = _EXECUTORS.get(name)
    if factory is None:
        raise ParameterError(
            f"unknown executor {name!r}",
            hint=f"use one of: {', '.join(executor_names())}",
        )
    return factory(slots=slots, scheduler=scheduler)


register_executor("local", LocalExecutor)
register_executor("dask", DaskExecutor)
