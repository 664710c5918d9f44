"""The base of every nbprod REST handler: auth, JSON in and out, paths, errors.

Errors are mapped to HTTP in one place, :meth:`NbprodHandler.write_error`:
an :class:`~nbprod.errors.NbprodError` becomes its ``http_status`` and the JSON
``{"error": {"message", "location", "hint"}}``; anything else is logged with
its traceback and answered with a bare 500, never a stack trace in the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.web import HTTPError

from nbprod.config import ProjectConfig
from nbprod.errors import NbprodError, NotFoundError

T = TypeVar("T")

#: the resource name nbprod's handlers are authorized against
AUTH_RESOURCE = "nbprod"


class RequestError(NbprodError):
    """A request that is malformed: bad JSON, a missing or mistyped field."""

    type = "bad_request"
    http_status = 400


class ForbiddenPath(NbprodError):
    """A path that leaves the server's root folder."""

    type = "forbidden_path"
    http_status = 403


class RunOutputError(NbprodError):
    """A run's output notebook asked to be planned, exported or run: it is a result."""

    type = "run_output"
    http_status = 400

    def __init__(self, path: str, run_id: str, source: str | None) -> None:
        super().__init__(
            f"{path} is the output notebook of run {run_id}: a result, not a source",
            hint=(
                f"open its source notebook {source} to export or run it"
                if source
                else "export and run the source notebook, not a run's output"
            ),
        )
        self.run_id = run_id
        self.source = source

    def to_dict(self) -> dict[str, Any]:
        """Return the error with the run id and the source notebook."""
        data = super().to_dict()
        data["run_id"] = self.run_id
        data["source"] = self.source
        return data


class NbprodHandler(ExtensionHandlerMixin, APIHandler):
    """Base handler: JSON replies, NbprodError → HTTP status, safe paths."""

    auth_resource = AUTH_RESOURCE

    @property
    def project(self) -> ProjectConfig:
        """The project the server serves."""
        return self.settings["nbprod"].config

    @property
    def root_dir(self) -> Path:
        """The server's root folder: every path in a request is inside it."""
        return self.settings["nbprod"].root_dir

    async def off_loop(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking core call on nbprod's thread pool, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.settings["nbprod"].pool, function, *args)

    def reply(self, data: Any, status: int = 200) -> None:
        """Send ``data`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def body(self) -> dict[str, Any]:
        """The request's JSON body, which must be an object (empty body: ``{}``)."""
        raw = self.request.body
        if not raw or not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RequestError("the request body must be a JSON object")
        return data

    def resolve(self, relpath: str, must_exist: bool = True) -> Path:
        """Turn a path from a request into a file inside the root folder.

        Absolute paths and ``..`` segments are refused (400) before anything
        is touched; a path whose real location, symlinks followed, is outside
        the root is refused (403).
        """
        pure = PurePosixPath(relpath)
        if (
            pure.is_absolute()
            or relpath.startswith("\\")
            or (pure.parts and ":" in pure.parts[0])
        ):
            raise RequestError(
                f"{relpath!r}: absolute paths are not allowed, give a path relative to the server root"
            )
        if ".." in pure.parts:
            raise RequestError(f"{relpath!r}: '..' is not allowed in paths")
        root = self.root_dir.resolve()
        path = (root / pure).resolve()
        if path != root and root not in path.parents:
            raise ForbiddenPath(f"{relpath!r} leads outside the server root")
        if must_exist and not path.exists():
            raise NotFoundError(f"{relpath!r} does not exist")
        return path

    def resolve_source(self, relpath: str, must_exist: bool = True) -> Path:
        """Like :meth:`resolve`, and refuse the output notebooks of runs (400, with the run id)."""
        path = self.resolve(relpath, must_exist)
        runs = self.project.runs_dir.resolve()
        if runs in path.parents:
            run_id = path.stem
            source = None
            # an output the history forgot is refused all the same (one indexed read)
            with contextlib.suppress(NbprodError):
                source = self.settings["nbprod"].jobs.store.get_run(run_id).notebook
            raise RunOutputError(relpath, run_id, source)
        return path

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer errors as JSON: NbprodError with its status, anything else a bare 500."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, NbprodError):
            self.set_status(exc.http_status)
            body = {"error": exc.to_dict()}
        elif isinstance(exc, HTTPError):
            message = exc.log_message or exc.reason or self._reason
            body = {"error": _plain_error("http_error", message)}
        else:
            body = {
                "error": _plain_error(
                    "internal", "internal error in nbprod: see the server log"
                )
            }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """User errors are expected: log them briefly; anything else with its traceback."""
        if isinstance(value, NbprodError):
            self.log.info(
                "nbprod: %s %s: %s", self.request.method, self.request.path, value
            )
        else:
            super().log_exception(typ, value, tb)


def _plain_error(kind: str, message: str) -> dict[str, Any]:
    """An error body of the same shape as :meth:`NbprodError.to_dict`."""
    return {
        "type": kind,
        "message": message,
        "location": None,
        "hint": None,
        "actions": [],
    }
