"""Executing one prepared notebook in a kernel: the part that runs on a worker.

:func:`execute_run` takes a :class:`RunSpec` (plain, picklable data, including
the notebook with its parameters already injected) and returns a
:class:`RunOutcome`. It never touches the history: the process that drives the
runs records outcomes, so workers can be local processes or Dask workers on
other machines.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import functools
import math
import os
import signal
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod.history.records import CANCELLED, FAILED, SUCCEEDED, RunErrorInfo
from nbprod.run.metrics import read_metrics

#: seconds a kernel may take to start
DEFAULT_START_TIMEOUT = 60.0


@dataclass
class RunSpec:
    """Everything a worker needs to execute one run.

    Attributes
    ----------
    run_id : str
        The run's id.
    notebook_json : str
        The notebook to execute, parameters already injected.
    input_path : str
        The source notebook, recorded in the output's papermill metadata.
    parameters : dict
        The parameters in display form, for the output's papermill metadata.
    cwd : str or None
        The kernel's working directory (the notebook's folder).
    kernel_name : str or None
        The kernel to use; None for the notebook's own kernelspec.
    timeout : float or None
        Seconds each cell may run; None for no limit.
    output_path : str or None
        Where the worker writes the executed notebook; None to return it in
        :attr:`RunOutcome.notebook_json` instead (remote workers).
    start_timeout : float
        Seconds the kernel may take to start.
    warm : bool
        Start the kernel as a fork of a warm template (``[tool.nbprod.run]
        warm_kernels``); it falls back to a normal start when it cannot.
    shared_templates : str or None
        The folder where the process driving the batch published its warm
        templates (:func:`nbprod.run.warm.share_templates`), if it did.
    preload : tuple of str
        Modules the template imports beside the notebook's own imports
        (``[tool.nbprod.run] preload``).
    """

    run_id: str
    notebook_json: str
    input_path: str
    parameters: dict[str, Any] = field(default_factory=dict)
    cwd: str | None = None
    kernel_name: str | None = None
    timeout: float | None = None
    output_path: str | None = None
    start_timeout: float = DEFAULT_START_TIMEOUT
    warm: bool = True
    preload: tuple[str, ...] = ()
    shared_templates: str | None = None


@dataclass
class RunOutcome:
    """What a worker reports back about one run.

    Attributes
    ----------
    run_id : str
        The run's id.
    status : str
        ``succeeded``, ``failed`` or ``cancelled``.
    started_at, finished_at : datetime
        When the run started and ended (UTC).
    duration : float
        Seconds between the two.
    error : RunErrorInfo or None
        Why the run failed.
    metrics : dict
        The metrics recorded with ``nbprod.record``.
    kernel : str or None
        The kernel that ran the notebook.
    papermill_version : str or None
        The papermill version of the worker.
    notebook_json : str or None
        The executed notebook, when the spec had no output path.
    output_written : bool
        True when the worker wrote the notebook to the spec's output path.
    kernel_start : str or None
        How the kernel started: ``warm`` (forked from a template) or
        ``normal: <why not warm>``.
    """

    run_id: str
    status: str
    started_at: _dt.datetime
    finished_at: _dt.datetime
    duration: float
    error: RunErrorInfo | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    kernel: str | None = None
    papermill_version: str | None = None
    notebook_json: str | None = None
    output_written: bool = False
    kernel_start: str | None = None


class RunCancelled(BaseException):
    """Raised inside a worker by SIGTERM, to stop the current run and shut its kernel down.

    A BaseException so that no ``except Exception`` in nbclient swallows it.
    """


class _WorkerState:
    """What the SIGTERM handler of a local worker needs to know (one run at a time)."""

    def __init__(self) -> None:
        self.executing_cells = False
        self.client: Any = None


_STATE = _WorkerState()


def _on_sigterm(signum: int, frame: Any) -> None:
    # Only interrupt while cells run: between runs (or while the result is
    # being sent back) the worker must finish normally, or the pool breaks
    # and the results of other runs are lost.
    if _STATE.executing_cells:
        client = _STATE.client
        if client is not None:
            client.shutdown_kernel = "immediate"
        raise RunCancelled()


def init_local_worker() -> None:
    """Set up a local worker process: warm imports, and signal handling.

    Ctrl-C goes to the whole terminal process group: workers ignore SIGINT and
    let the batch driver decide; the driver stops them with SIGTERM, which
    cancels the current run and shuts its kernel down.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    warm_imports()


def warm_imports() -> None:
    """Import and build now what every run needs, so the first run does not pay for it.

    papermill and nbclient; IPython and ipykernel, which jupyter_client imports
    to look a kernel spec up; the kernel provisioners' entry points, which
    jupyter_client reads from every installed package once per process;
    nbformat's schema validator; nbprod's engine, kernel manager and warm
    provisioner classes. About 0.2 s of a worker's first run otherwise.
    """
    import ipykernel.kernelspec  # noqa: F401
    import IPython.paths  # noqa: F401  (where jupyter_client finds kernel specs)
    import jupyter_client.kernelspec  # noqa: F401
    import nbclient  # noqa: F401
    import nbformat
    import papermill.engines  # noqa: F401
    from jupyter_client.provisioning import KernelProvisionerFactory

    # the warm kernels' import analysis, and the run's metrics
    import nbprod.notebook.ipython
    import nbprod.notebook.outputs  # noqa: F401
    from nbprod.run import warm

    KernelProvisionerFactory.instance()  # a singleton: the entry points, read once
    # nbformat compiles (and keeps) its schema's validator at the first check
    nbformat.validate(nbformat.v4.new_notebook())
    _engine()
    _kernel_manager_class()
    _kernel_client_class()
    warm.provisioner_class()


@functools.cache
def _engine() -> Any:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine
    from papermill.utils import merge_kwargs, remove_args

    class NbprodEngine(NBClientEngine):
        """papermill's nbclient engine, keeping a handle on the client for cancellation."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: float = 60,
            execution_timeout: float | None = None,
            **kwargs: Any,
        ) -> Any:
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, **final)
            if threading.current_thread() is threading.main_thread():
                _STATE.client = client
            return client.execute()

    return NbprodEngine


@functools.cache
def _kernel_client_class() -> Any:
    from queue import Empty

    import zmq.asyncio
    from jupyter_client.asynchronous import AsyncKernelClient
    from traitlets import default

    class ReadyKernelClient(AsyncKernelClient):
        """jupyter_client's client, told a kernel is ready as soon as it is.

        jupyter_client's ready check ends by reading IOPub until it has been
        quiet for 0.2 s, on every kernel start: a third of a warm run of a
        small notebook. The messages it drops there are the kernel_info's own
        status messages, which nbclient skips anyway (it reads only the
        messages of the cell it executes), so this check stops at the reply.
        """

        @default("context")
        def _default_context(self) -> zmq.asyncio.Context:
            # the client connects before the kernel (a fork, milliseconds
            # old) has bound its sockets, and ZMQ retries a missing endpoint
            # only every 100 ms by default: every kernel start waited for that
            self._created_context = True
            context = zmq.asyncio.Context()
            context.setsockopt(zmq.RECONNECT_IVL, 5)
            return context

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (math.inf if timeout is None else timeout)
            while True:
                msg_id = self.kernel_info()
                reply = await self._reply(msg_id, min(1.0, timeout or 1.0))
                # IOPub is connected once it carries the request's status
                if reply is not None and await self._iopub_speaks(0.2):
                    self._handle_kernel_info_reply(reply)
                    return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Kernel didn't respond in {timeout:.0f} seconds"
                    )

        async def _reply(self, msg_id: str, wait: float) -> dict[str, Any] | None:
            end = time.monotonic() + wait
            while (left := end - time.monotonic()) > 0:
                try:
                    msg = await self.shell_channel.get_msg(timeout=left)
                except Empty:
                    return None
                if msg["parent_header"].get("msg_id") == msg_id:
                    return dict(msg)
            return None

        async def _iopub_speaks(self, wait: float) -> bool:
            try:
                await self.iopub_channel.get_msg(timeout=wait)
            except Empty:
                return False
            return True

    return ReadyKernelClient


@functools.cache
def _kernel_manager_class() -> Any:
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IpcKernelManager(AsyncKernelManager):
        """A kernel manager talking to its kernel over Unix sockets, not TCP.

        With TCP, a free port is picked and only later bound by the kernel;
        kernels starting side by side (a batch, other Jupyter processes) now
        and then take the same port and the kernel dies at start. Unix
        sockets in a per-kernel path cannot collide, and are a little faster.
        """

        @default("client_factory")
        def _default_client_factory(self) -> type:
            return _kernel_client_class()

        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        @default("ip")
        def _default_ip(self) -> str:
            # absolute (the kernel runs in another folder) and short (socket
            # paths are limited to about 100 characters)
            return os.path.join(
                tempfile.gettempdir(), f"nbprod-{uuid.uuid4().hex[:12]}"
            )

    return IpcKernelManager


_THREAD = threading.local()


def _run_context() -> contextvars.Context:
    # A Dask worker thread runs tasks in a context copied from its event loop,
    # where jupyter_core may have stored that (running) loop as "the" loop; a
    # context of our own per thread makes nbclient create and then reuse a
    # loop of its own. (The main thread runs in its own context, and loop.)
    context = getattr(_THREAD, "context", None)
    if context is None:
        context = _THREAD.context = contextvars.Context()
    return context


def _clean_exit(output: Any) -> bool:
    # papermill's rule: `sys.exit()`, `sys.exit(0)`, `raise SystemExit` end
    # the notebook early and successfully; any other exit code is a failure.
    # (IPython shows SystemExit(None) as "None": exit status 0 too.)
    return output.get("ename") == "SystemExit" and output.get("evalue") in (
        "",
        "0",
        "None",
    )


def _cell_error(nb: Any) -> RunErrorInfo | None:
    # papermill marks the cell whose CellExecutionError stopped the run
    for index, cell in enumerate(nb.cells):
        if not cell.get("metadata", {}).get("papermill", {}).get("exception"):
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and all(_clean_exit(output) for output in errors):
            return None
        for output in errors:
            if not _clean_exit(output):
                return RunErrorInfo(index, cell.get("id"), output.ename, output.evalue)
        return RunErrorInfo(index, cell.get("id"), "CellExecutionError", "")
    return None


def _all_cells_done(nb: Any, executed: set[int]) -> bool:
    # nbclient skips empty code cells; papermill's own per-cell status cannot
    # be used, as it marks every cell "completed" when the notebook ends
    return all(
        index in executed
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip()
    )


def _exception_error(
    exc: BaseException, current: dict[str, Any], nb: Any
) -> RunErrorInfo:
    index = current.get("index")
    cell_id = nb.cells[index].get("id") if index is not None else None
    name = type(exc).__name__
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if name == "CellTimeoutError":
        message = message or "a cell timed out"
    return RunErrorInfo(index, cell_id, name, message)


def _kernel_start(warm_requested: bool) -> str | None:
    if not warm_requested:
        return "normal: warm kernels are off"
    from nbprod.run import warm

    return warm.last_start()


def execute_run(spec: RunSpec) -> RunOutcome:
    """Execute one prepared notebook and report how it went.

    Never raises for problems of the notebook: a failing cell, a kernel that
    dies or a cell that times out become a ``failed`` outcome with the cell,
    error name and message; the executed notebook (as far as it got) is kept.

    Parameters
    ----------
    spec : RunSpec
        The run.

    Returns
    -------
    RunOutcome
        The status, times, error, metrics and (for remote workers) the
        executed notebook.
    """
    import nbformat
    import papermill

    started = _dt.datetime.now(_dt.timezone.utc)
    nb = nbformat.reads(spec.notebook_json, as_version=4)
    nb.metadata["papermill"] = {
        "default_parameters": {},
        "parameters": spec.parameters,
        "environment_variables": {},
        "version": papermill.__version__,
        "input_path": spec.input_path,
        "output_path": spec.output_path,
    }
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    kernel = (
        spec.kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    )
    cwd = spec.cwd if spec.cwd and os.path.isdir(spec.cwd) else None
    current: dict[str, Any] = {}
    executed: set[int] = set()

    def on_cell_start(cell: Any, cell_index: int) -> None:
        current["index"] = cell_index

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        executed.add(cell_index)

    main_thread = threading.current_thread() is threading.main_thread()
    manager = _kernel_manager_class()
    if spec.warm:
        from nbprod.run import warm

        warm.clear_last_start()
        manager = warm.kernel_manager_class(
            manager,
            warm.notebook_imports(
                cell.source for cell in nb.cells if cell.cell_type == "code"
            ),
            tuple(spec.preload),
            spec.shared_templates,
        )
    status, error = SUCCEEDED, None
    try:
        _STATE.executing_cells = True
        engine = _engine()
        run: Any = (
            engine.execute_notebook
            if main_thread
            else functools.partial(_run_context().run, engine.execute_notebook)
        )
        run(
            nb,
            kernel,
            output_path=None,
            progress_bar=False,
            log_output=False,
            # nbclient's timeouts are whole seconds
            start_timeout=math.ceil(spec.start_timeout),
            execution_timeout=math.ceil(spec.timeout) if spec.timeout else None,
            # nbclient starts the kernel in resources.metadata.path: the run's
            # working directory without os.chdir in this (shared) process
            resources={"metadata": {"path": cwd}} if cwd else {},
            on_cell_start=on_cell_start,
            on_cell_executed=on_cell_executed,
            kernel_manager_class=manager,
            # all outputs are in by now: stopping the kernel outright saves the
            # graceful shutdown's polling, which now and then waits seconds
            shutdown_kernel="immediate",
        )
        _STATE.executing_cells = False
        error = _cell_error(nb)
    except RunCancelled:
        _STATE.executing_cells = False
        # a SIGTERM that lands after the last cell ran does not undo the run
        error = _cell_error(nb)
        if not _all_cells_done(nb, executed):
            status = CANCELLED
    except (
        Exception
    ) as exc:  # the kernel died, a cell timed out, the kernel did not start
        _STATE.executing_cells = False
        error = _exception_error(exc, current, nb)
    finally:
        _STATE.executing_cells = False
        _STATE.client = None

    if error is not None and status == SUCCEEDED:
        status = FAILED
    finished = _dt.datetime.now(_dt.timezone.utc)
    nb.metadata["papermill"]["exception"] = error is not None
    nb.metadata["papermill"]["start_time"] = started.isoformat()
    nb.metadata["papermill"]["end_time"] = finished.isoformat()
    nb.metadata["papermill"]["duration"] = (finished - started).total_seconds()
    text = nbformat.writes(nb)
    outcome = RunOutcome(
        run_id=spec.run_id,
        status=status,
        started_at=started,
        finished_at=finished,
        duration=(finished - started).total_seconds(),
        error=error,
        metrics=read_metrics(nb),
        kernel=kernel,
        papermill_version=papermill.__version__,
        kernel_start=_kernel_start(spec.warm),
    )
    if spec.output_path:
        from nbprod.files import write_atomic

        write_atomic(Path(spec.output_path), text)
        outcome.output_written = True
    else:
        outcome.notebook_json = text
    return outcome
