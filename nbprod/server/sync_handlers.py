"""``POST notebooks/{path}/sync``: hand edits of generated files back into the notebook.

The same core call and JSON as ``nbprod sync --json``; a refused sync (cells
changed on both sides, a deleted block) answers 409 with the conflicts, an
unmappable edit 422, so the UI can show them before asking again.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbprod.export.sync import sync_notebooks
from nbprod.server.base import NbprodHandler, RequestError

PREFER = ("module", "notebook")


class SyncHandler(NbprodHandler):
    """``POST {check, prefer, allow_delete}``: sync one notebook with its generated files."""

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        notebook = self.resolve(path)
        body = self.body()
        check, allow_delete = (
            self._flag(body, "check"),
            self._flag(body, "allow_delete"),
        )
        prefer = body.get("prefer")
        if prefer is not None and prefer not in PREFER:
            raise RequestError(
                f"field 'prefer' must be 'module' or 'notebook', not {prefer!r}"
            )
        result = await self.off_loop(
            lambda: sync_notebooks(
                self.project,
                [notebook],
                check=check,
                prefer=prefer,
                allow_delete=allow_delete,
            )
        )
        if result.errors:
            raise result.errors[0]
        data = result.to_dict()
        refused = result.refused
        if refused and refused[0].error is not None:
            # the shape of every other error reply, beside the full report
            data["error"] = refused[0].error.to_dict()
        self.reply(data, status=result.http_status)

    @staticmethod
    def _flag(body: dict, name: str) -> bool:
        value = body.get(name, False)
        if not isinstance(value, bool):
            raise RequestError(f"field {name!r} must be true or false")
        return value
