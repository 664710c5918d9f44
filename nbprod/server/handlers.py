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
from collections.abc import Callable
from pathlib import Path
from threading import Lock
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbprod.config import ProjectConfig
from nbprod.export import export_notebooks, plan_notebook
from nbprod.notebook.reader import parse_notebook
from nbprod.server.base import NbprodHandler, RequestError

T = TypeVar("T")

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

    def get(self, key: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Return the cached plan for ``key``, making it when missing."""
        with self.lock:
            if key in self.plans:
                self.plans.move_to_end(key)
                return self.plans[key]
        plan = make()
        with self.lock:
            self.plans[key] = plan
            while len(self.plans) > self.size:
                self.plans.popitem(last=False)
        return plan


_plans = PlanCache()


def plan_json(
    path: Path, config: ProjectConfig, text: str | None = None
) -> dict[str, Any]:
    """The plan of a notebook (saved, or ``text`` from the editor) as JSON, cached."""
    if text is None:
        text = path.read_text("utf-8")
    key = hashlib.sha256(f"{path}\0{config}\0".encode() + text.encode()).hexdigest()

    def make() -> dict[str, Any]:
        nb = parse_notebook(text, config.relpath(path))
        return plan_notebook(path, config, nb).to_dict(config)

    return _plans.get(key, make)


class ApiHandler(NbprodHandler):
    """Adds a helper to run blocking core calls on the thread pool."""

    async def off_loop(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on nbprod's thread pool and wait for it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.settings["nbprod"].pool, function, *args)


class PlanHandler(ApiHandler):
    """``GET``: the export plan of a saved notebook; ``POST {content}``: of unsaved content."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        notebook = self.resolve(path)
        self.reply(await self.off_loop(plan_json, notebook, self.project))

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        notebook = self.resolve(path, must_exist=False)
        text = json.dumps(field(self.body(), "content", dict))
        self.reply(await self.off_loop(plan_json, notebook, self.project, text))


class ExportHandler(ApiHandler):
    """``POST {force}``: export one notebook; 409 with the files edited by hand."""

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        notebook = self.resolve(path)
        force = field(self.body(), "force", bool, False)
        result = await self.off_loop(
            lambda: export_notebooks(self.project, [notebook], force=force)
        )
        if result.errors:
            raise result.errors[0]
        self.reply(result.to_dict())


def routes() -> list[tuple[str, type[NbprodHandler]]]:
    """Every route of the API, as jupyter_server wants them."""
    return [
        (rf"{API}/notebooks/{NOTEBOOK}/plan", PlanHandler),
        (rf"{API}/notebooks/{NOTEBOOK}/export", ExportHandler),
    ]
