"""REST handlers the JupyterLab panel needs beyond the CLI's verbs.

``GET info`` (the server's defaults, so the UI keeps no copy of a rule),
``GET runs/compare`` (runs side by side), ``GET runs/of`` (the run behind an
output notebook) and ``GET ship/preview`` (what the next push will commit).
Each is a thin translation to a core function.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbprod._version import __version__
from nbprod.errors import NotFoundError
from nbprod.run.compare import compare_runs
from nbprod.server.base import NbprodHandler, RequestError
from nbprod.server.handlers import HistoryHandler
from nbprod.ship.preview import preview_push


class InfoHandler(NbprodHandler):
    """``GET``: nbprod's version, the default parallelism and the runs folder."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        state = self.settings["nbprod"]
        runs = self.project.runs_dir.resolve()
        root = self.root_dir.resolve()
        runs_dir: str | None = None
        if runs == root or root in runs.parents:
            runs_dir = runs.relative_to(root).as_posix()
        data: dict[str, Any] = {
            "version": __version__,
            "default_jobs": state.default_jobs,
            "runs_dir": runs_dir,
        }
        self.reply(data)


class CompareHandler(HistoryHandler):
    """``GET ?ids=a,b,...`` or ``?batch=ID``: runs side by side (``nbprod runs --compare``)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        ids = [i for i in self.get_query_argument("ids", "").split(",") if i.strip()]
        batch = self.get_query_argument("batch", None)
        if bool(ids) == bool(batch):
            raise RequestError(
                "give either ids=ID,ID,... (two or more runs) or batch=ID"
            )
        store = self.jobs.store

        def compare() -> dict[str, Any]:
            if batch:
                store.get_batch(batch)  # 404 for an unknown batch
                runs = list(reversed(store.list_runs(batch_id=batch, limit=None)))
            else:
                runs = [store.get_run(i.strip()) for i in ids]
            data = compare_runs(self.project, runs).to_dict()
            data["runs"] = [self.run_json(run) for run in runs]
            return data

        self.reply(await self.off_loop(compare))


class RunOfOutputHandler(HistoryHandler):
    """``GET ?path=runs/...ipynb``: the run whose output notebook this is."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        relpath = self.get_query_argument("path", "")
        path = self.resolve(relpath)
        runs = self.project.runs_dir.resolve()
        if runs not in path.parents:
            raise RequestError(f"{relpath!r} is not in the runs folder")
        run = await self.off_loop(self.jobs.store.get_run, path.stem)
        if run.id != path.stem:
            raise NotFoundError(f"no run {path.stem!r} in the history")
        source = (self.project.root / run.notebook).resolve()
        root = self.root_dir.resolve()
        self.reply(
            {
                "run": self.run_json(run),
                # the source notebook relative to the server root, to open it
                "source_file": (
                    source.relative_to(root).as_posix()
                    if root in source.parents
                    else None
                ),
            }
        )


class ShipPreviewHandler(NbprodHandler):
    """``GET``: the files the next push will commit, each with its status and diff."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        preview = await self.off_loop(preview_push, self.project)
        self.reply(preview.to_dict())
