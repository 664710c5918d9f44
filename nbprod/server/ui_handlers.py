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
from nbprod.server.base import NbprodHandler


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
