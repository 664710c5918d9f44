"""``GET deps`` (what ``nbprod deps --json`` says) and ``POST deps`` (``nbprod deps --add``).

The JupyterLab panel's Ship section shows the undeclared imports and offers an
**Add dependencies** button; both calls are thin translations to
:mod:`nbprod.gate.deps`, run off the event loop (planning the notebooks takes
a moment).
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbprod.gate.deps import add_dependencies, check_dependencies
from nbprod.server.base import NbprodHandler
from nbprod.server.handlers import field


class DepsHandler(NbprodHandler):
    """``GET``: the dependency check; ``POST {"dry_run": bool}``: add the missing ones."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        report = await self.off_loop(check_dependencies, self.project)
        self.reply(report.to_dict())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        dry_run = field(self.body(), "dry_run", bool, False)

        def add() -> dict[str, Any]:
            result, report = add_dependencies(self.project, dry_run=dry_run)
            return {**result.to_dict(), "dry_run": dry_run, "report": report.to_dict()}

        self.reply(await self.off_loop(add))
