"""The REST handlers under ``/nbprod/api/``: thin translations to the core.

Each handler parses its request, calls the same core function as the matching
CLI command, and answers with the same JSON as the command's ``--json``.
CPU work (planning, export) runs on a thread pool so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from threading import Lock
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbprod.errors import NotFoundError
from nbprod.export import export_notebooks
from nbprod.gitops.status import repository_status
from nbprod.history.records import RunRecord
from nbprod.notebook.parameters import find_parameters_cell
from nbprod.notebook.reader import read_notebook
from nbprod.run.batch import create_batch, expand_grid
from nbprod.run.single import queue_run
from nbprod.server.base import NbprodHandler, RequestError
from nbprod.server.jobs import JobManager
from nbprod.server.monitor_handlers import (
    AlertsHandler,
    BaselineHandler,
    MonitorChecksHandler,
    MonitorHandler,
)
from nbprod.server.planning import plan_json
from nbprod.server.sync_handlers import SyncHandler

API = r"/nbprod/api"
NOTEBOOK = r"(?P<path>.+\.ipynb)"


def field(
    data: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...
) -> Any:
    """Read one field of a JSON body, checking its type (400 with a message when wrong)."""
    if name not in data or data[name] is None:
        if default is ...:
            raise RequestError(f"the request body needs the field {name!r}")
        return default
    value = data[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # JSON true/false are ints to Python: a bool is not a number here.
    if isinstance(value, bool) and bool not in kinds:
        raise RequestError(f"field {name!r} must be {_names(kinds)}, not a boolean")
    if not isinstance(value, kinds):
        raise RequestError(
            f"field {name!r} must be {_names(kinds)}, not {type(value).__name__}"
        )
    return value


def _names(kinds: tuple[type, ...]) -> str:
    words = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        dict: "an object",
        list: "a list",
    }
    return " or ".join(words.get(k, k.__name__) for k in kinds)


class PlanCache:
    """The last plans, keyed by the notebook's bytes: the preview asks often, edits rarely."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.plans: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.lock = Lock()

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The cached plan for ``key``, or None."""
        with self.lock:
            if key in self.plans:
                self.plans.move_to_end(key)
                return self.plans[key]
        return None

    def store(self, key: str, plan: dict[str, Any]) -> None:
        """Keep ``plan`` for ``key``, dropping the oldest beyond the size."""
        with self.lock:
            self.plans[key] = plan
            while len(self.plans) > self.size:
                self.plans.popitem(last=False)


_plans = PlanCache()
#: plans being made, by key (only touched on the event loop)
_pending: dict[str, asyncio.Future[dict[str, Any]]] = {}


class PlanHandler(NbprodHandler):
    """``GET``: the export plan of a saved notebook; ``POST {content}``: of unsaved content."""

    async def plan(self, path: Path, text: str | None = None) -> dict[str, Any]:
        """The plan of ``path`` (or of ``text`` for it), cached, made in a worker process."""
        if text is None:
            text = await self.off_loop(path.read_text, "utf-8")
        config = self.project
        key = hashlib.sha256(f"{path}\0{config}\0".encode() + text.encode()).hexdigest()
        plan = _plans.lookup(key)
        if plan is not None:
            return plan
        # the same content asked again while it is being planned (the preview
        # and a save, twenty tabs) waits for that one plan instead of making more
        pending = _pending.get(key)
        if pending is None:
            pool = self.settings["nbprod"].plans
            pending = asyncio.ensure_future(pool.run(plan_json, path, config, text))
            _pending[key] = pending
            pending.add_done_callback(lambda _: _pending.pop(key, None))
        made = await asyncio.shield(pending)
        _plans.store(key, made)
        return made

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        notebook = self.resolve_source(path)
        text = await self.off_loop(notebook.read_text, "utf-8")
        state = self.settings["nbprod"]
        # the panel shows this notebook: its Run button should find a template
        # and a worker ready
        state.warm.prewarm_soon(state.pool, notebook, text)
        state.jobs.keep_spare()
        self.reply(await self.plan(notebook, text))

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        notebook = self.resolve_source(path, must_exist=False)
        text = json.dumps(field(self.body(), "content", dict))
        self.reply(await self.plan(notebook, text))


class ExportHandler(NbprodHandler):
    """``POST {force}``: export one notebook; 409 with the files edited by hand."""

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        notebook = self.resolve_source(path)
        force = field(self.body(), "force", bool, False)
        result = await self.off_loop(
            lambda: export_notebooks(self.project, [notebook], force=force)
        )
        if result.errors:
            raise result.errors[0]
        self.reply(result.to_dict())


class ParametersHandler(NbprodHandler):
    """``GET``: the parameters cell of a notebook (name, default, type, comment)."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        notebook = self.resolve(path)
        name = self.project.relpath(notebook)

        def read() -> dict[str, Any]:
            cell = find_parameters_cell(read_notebook(notebook), name)
            return {
                "notebook": name,
                "cell": (
                    None
                    if cell is None
                    else {"index": cell.index, "cell_id": cell.cell_id}
                ),
                "parameters": (
                    [] if cell is None else [p.to_dict() for p in cell.parameters]
                ),
            }

        self.reply(await self.off_loop(read))


class HistoryHandler(NbprodHandler):
    """Base of the run, batch and job handlers: the job manager and its history."""

    @property
    def jobs(self) -> JobManager:
        """The server's job manager."""
        return self.settings["nbprod"].jobs

    async def prewarm(self, notebook: Path) -> None:
        """Have the notebook's warm template started before its worker looks for it."""
        warm = self.settings["nbprod"].warm
        if warm.enabled:
            text = await self.off_loop(notebook.read_text, "utf-8")
            await self.off_loop(warm.prewarm, notebook, text)

    def run_json(self, run: RunRecord) -> dict[str, Any]:
        """A run as the CLI's JSON, plus ``output_file``: its output relative to the server root."""
        data = run.to_dict()
        data["output_file"] = None
        if run.output_path:
            output = (self.project.root / run.output_path).resolve()
            if self.root_dir in output.parents:
                data["output_file"] = output.relative_to(self.root_dir).as_posix()
        return data


class RunsHandler(HistoryHandler):
    """``GET``: the run history (filters, paging); ``POST``: start one run."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        filters = {
            "notebook": self.get_query_argument("notebook", None),
            "batch_id": self.get_query_argument("batch", None),
            "status": self.get_query_argument("status", None),
        }
        limit = _query_int(self, "limit", 50)
        offset = _query_int(self, "offset", 0)
        store = self.jobs.store
        runs, total = await self.off_loop(
            lambda: (
                store.list_runs(**filters, limit=limit, offset=offset),
                store.count_runs(**filters),
            )
        )
        self.reply({"runs": [self.run_json(r) for r in runs], "total": total})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        notebook = self.resolve_source(field(body, "notebook", str))
        parameters = field(body, "parameters", dict, {})
        timeout = field(body, "timeout", (int, float), None)
        store = self.jobs.store
        await self.prewarm(notebook)
        record = await self.off_loop(
            lambda: queue_run(self.project, notebook, parameters, store=store)
        )
        job = await self.jobs.start("run", {"timeout": timeout}, target=record.id)
        self.reply({"run": self.run_json(record), "job": job.id}, status=202)


class RunHandler(HistoryHandler):
    """``GET``: one run with its metrics."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run = await self.off_loop(self.jobs.store.get_run, run_id)
        self.reply(self.run_json(run))


class BatchesHandler(HistoryHandler):
    """``POST {notebook, grid | runs, jobs, timeout}``: start a batch."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        notebook = self.resolve_source(field(body, "notebook", str))
        grid = field(body, "grid", dict, None)
        runs = field(body, "runs", list, None)
        if (grid is None) == (runs is None):
            raise RequestError(
                "give either 'grid' (name → list of values) or 'runs' (a list of sets)"
            )
        jobs = field(body, "jobs", int, self.settings["nbprod"].default_jobs)
        if jobs < 1:
            raise RequestError("field 'jobs' must be at least 1")
        executor = field(body, "executor", str, "local")
        timeout = field(body, "timeout", (int, float), None)
        scheduler = self.settings["nbprod"].dask_scheduler
        _check_executor(executor, scheduler)
        sets = expand_grid(grid if grid is not None else {"runs": runs}, "request")
        store = self.jobs.store
        await self.prewarm(notebook)
        created = await self.off_loop(
            lambda: create_batch(
                self.project, notebook, sets, executor=executor, jobs=jobs, store=store
            )
        )
        request = {
            "jobs": jobs,
            "executor": executor,
            "scheduler": scheduler,
            "timeout": timeout,
        }
        job = await self.jobs.start("batch", request, target=created.batch.id)
        self.reply(
            {
                "batch": created.batch.to_dict(),
                "runs": [self.run_json(r) for r in created.runs],
                "job": job.id,
            },
            status=202,
        )


class BatchHandler(HistoryHandler):
    """``GET``: a batch's progress and runs; ``DELETE``: cancel it."""

    async def _batch_json(self, batch_id: str) -> dict[str, Any]:
        store = self.jobs.store
        batch, runs = await self.off_loop(
            lambda: (
                store.get_batch(batch_id),
                store.list_runs(batch_id=batch_id, limit=None),
            )
        )
        return {"batch": batch.to_dict(), "runs": [self.run_json(r) for r in runs]}

    @web.authenticated
    @authorized
    async def get(self, batch_id: str) -> None:
        self.reply(await self._batch_json(batch_id))

    @web.authenticated
    @authorized
    async def delete(self, batch_id: str) -> None:
        await self._batch_json(batch_id)  # 404 for an unknown batch
        await self.jobs.cancel_target(batch_id)
        self.reply(await self._batch_json(batch_id), status=202)


def _check_executor(executor: str, scheduler: str | None) -> None:
    """Refuse, before anything is queued, a batch its worker could not start."""
    from nbprod.errors import ConfigError
    from nbprod.run.executors import executor_names

    names = executor_names()
    if executor not in names:
        raise RequestError(
            f"unknown executor {executor!r}", hint=f"use one of: {', '.join(names)}"
        )
    if executor == "dask" and not scheduler:
        raise ConfigError(
            "the dask executor needs a scheduler, and this server has none configured",
            hint="start JupyterLab with --NbprodApp.dask_scheduler=tcp://host:8786",
        )


def _check_steps(only: list[str], skip: list[str]) -> None:
    """Refuse unknown gate steps before the job starts (the registry's own error)."""
    from nbprod.gate import gate_steps

    gate_steps.select(tuple(only), tuple(skip))


def _string_list(data: dict[str, Any], name: str) -> list[str]:
    values = field(data, name, list, [])
    if not all(isinstance(v, str) for v in values):
        raise RequestError(f"field {name!r} must be a list of step names")
    return values


class GateHandler(HistoryHandler):
    """``POST {only?, skip?}``: run the quality gate as a job."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        request = {
            "only": _string_list(body, "only"),
            "skip": _string_list(body, "skip"),
            # the panel's Check Only: export first, so the gate checks what a push would push
            "export": field(body, "export", bool, False),
        }
        await self.off_loop(_check_steps, request["only"], request["skip"])
        job = await self.jobs.start("gate", request)
        self.reply({"job": job.to_dict()}, status=202)


class PushHandler(HistoryHandler):
    """``POST {message, remote?, branch?}``: export, gate, commit and push as a job."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        message = field(body, "message", str)
        if not message.strip():
            raise RequestError(
                "field 'message' must not be empty: say what the commit changes"
            )
        request = {
            "message": message,
            "remote": field(body, "remote", str, None),
            "branch": field(body, "branch", str, None),
        }
        job = await self.jobs.start("push", request)
        self.reply({"job": job.to_dict()}, status=202)


class JobHandler(HistoryHandler):
    """``GET``: a job's progress and, once finished, its report."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = await self.off_loop(self.jobs.store.get_job, job_id)
        self.reply(job.to_dict())


class GitStatusHandler(NbprodHandler):
    """``GET``: branch, remote, ahead/behind and changed files of the project."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        status = await self.off_loop(
            repository_status, self.project.root, self.project.push.remote
        )
        self.reply(status.to_dict())


def _query_int(handler: NbprodHandler, name: str, default: int) -> int:
    text = handler.get_query_argument(name, None)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise RequestError(
            f"query parameter {name!r} must be a whole number, not {text!r}"
        ) from None
    if value < 0:
        raise RequestError(f"query parameter {name!r} must not be negative")
    return value


class UnknownRouteHandler(NbprodHandler):
    """Every other URL under ``/nbprod/api/``: the API's JSON errors, not Tornado's HTML.

    A URL that tries to leave a folder (``..``, ``%2e%2e``, an absolute or
    NUL-holding path) is the documented 400; anything else is a 404 naming
    the URL. Without this route such URLs fell through to Jupyter's HTML
    404 page, which a client of the JSON API cannot read.
    """

    def refuse(self, rest: str) -> None:
        """Raise the 400 for a traversal attempt, else the 404."""
        segments = rest.replace("\\", "/").split("/")
        if ".." in segments or "\0" in rest:
            raise RequestError(f"{rest!r}: '..' is not allowed in paths")
        if rest.startswith(("/", "\\")) or "//" in rest:
            raise RequestError(
                f"{rest!r}: absolute paths are not allowed, give a path relative "
                "to the server root"
            )
        raise NotFoundError(
            f"no such route: {self.request.method} /nbprod/api/{rest}",
            hint="see docs/api.md for the routes of the API",
        )

    @web.authenticated
    @authorized
    async def get(self, rest: str) -> None:
        self.refuse(rest)

    @web.authenticated
    @authorized
    async def post(self, rest: str) -> None:
        self.refuse(rest)

    @web.authenticated
    @authorized
    async def put(self, rest: str) -> None:
        self.refuse(rest)

    @web.authenticated
    @authorized
    async def patch(self, rest: str) -> None:
        self.refuse(rest)

    @web.authenticated
    @authorized
    async def delete(self, rest: str) -> None:
        self.refuse(rest)


ID = r"(?P<{}>[A-Za-z0-9_-]+)"


def routes() -> list[tuple[str, type[NbprodHandler]]]:
    """Every route of the API, as jupyter_server wants them."""
    from nbprod.server import ui_handlers as ui  # it builds on HistoryHandler
    from nbprod.server.deps_handlers import DepsHandler

    return [
        (rf"{API}/runs/compare", ui.CompareHandler),
        (rf"{API}/runs/of", ui.RunOfOutputHandler),
        (rf"{API}/notebooks/{NOTEBOOK}/plan", PlanHandler),
        (rf"{API}/notebooks/{NOTEBOOK}/export", ExportHandler),
        (rf"{API}/notebooks/{NOTEBOOK}/parameters", ParametersHandler),
        (rf"{API}/runs", RunsHandler),
        (rf"{API}/runs/{ID.format('run_id')}", RunHandler),
        (rf"{API}/batches", BatchesHandler),
        (rf"{API}/batches/{ID.format('batch_id')}", BatchHandler),
        (rf"{API}/gate", GateHandler),
        (rf"{API}/push", PushHandler),
        (rf"{API}/jobs/{ID.format('job_id')}", JobHandler),
        (rf"{API}/git/status", GitStatusHandler),
        (rf"{API}/notebooks/{NOTEBOOK}/sync", SyncHandler),
        (rf"{API}/monitor", MonitorHandler),
        (rf"{API}/monitor/checks", MonitorChecksHandler),
        (rf"{API}/monitor/baseline", BaselineHandler),
        (rf"{API}/alerts", AlertsHandler),
        (rf"{API}/info", ui.InfoHandler),
        (rf"{API}/ship/preview", ui.ShipPreviewHandler),
        (rf"{API}/deps", DepsHandler),
        # last: whatever no route above matched (Tornado tries them in order)
        (rf"{API}/(?P<rest>.*)", UnknownRouteHandler),
    ]
