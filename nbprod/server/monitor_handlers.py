"""The monitoring routes under ``/nbprod/api/``: the same JSON as ``nbprod monitor --json``.

``GET monitor[?notebook=]``, ``GET monitor/checks?notebook=&name=`` (one check
over runs, plus the distributions of a drifted column), ``GET
alerts[?since=&run=]`` and ``POST monitor/baseline {notebook, run}``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbprod.monitor.status import (
    check_series,
    distribution,
    latest_report,
    monitored_notebooks,
    notebook_state,
    report_for_run,
    resolve_notebook,
    set_baseline,
)
from nbprod.server.base import NbprodHandler, RequestError


def _iso(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _iso(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_iso(v) for v in data]
    if isinstance(data, _dt.datetime):
        return data.isoformat()
    return data


class MonitorBase(NbprodHandler):
    """Monitoring handlers share the server's history store."""

    @property
    def store(self) -> Any:
        """The history the server's job manager keeps."""
        return self.settings["nbprod"].jobs.store

    def notebook_json(self, notebook: str) -> dict[str, Any]:
        """A notebook's latest report, with its alert state and since when."""
        data = latest_report(self.project, self.store, notebook).to_dict()
        data["state"] = notebook_state(self.store, notebook)
        return data


class MonitorHandler(MonitorBase):
    """``GET``: the reports of the latest run of every monitored notebook (or of one)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.get_query_argument("notebook", None)
        run = self.get_query_argument("run", None)

        def build() -> Any:
            if run:
                report = report_for_run(self.project, self.store, run).to_dict()
                report["state"] = notebook_state(self.store, report["notebook"])
                return report
            if notebook:
                return self.notebook_json(
                    resolve_notebook(self.project, self.store, notebook)
                )
            return {
                "notebooks": [
                    self.notebook_json(name)
                    for name in monitored_notebooks(self.project, self.store)
                ]
            }

        self.reply(await self.off_loop(build))


class MonitorChecksHandler(MonitorBase):
    """``GET ?notebook=&name=``: one check (by key) across runs; distributions of a column."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.get_query_argument("notebook", None)
        name = self.get_query_argument("name", None)
        if not notebook or not name:
            raise RequestError("monitor/checks needs ?notebook=...&name=<check key>")

        def build() -> dict[str, Any]:
            resolved = resolve_notebook(self.project, self.store, notebook)
            series = check_series(self.store, resolved, name)
            parts = name.split(":", 2)
            shown = None
            if parts[0] == "drift" and len(parts) == 3 and series:
                last = series[-1]
                if last["baseline"] and last["baseline"] != last["run"]:
                    shown = distribution(
                        self.store, last["run"], last["baseline"], parts[1], parts[2]
                    )
            return {
                "notebook": resolved,
                "name": name,
                "series": series,
                "distribution": shown,
            }

        self.reply(await self.off_loop(build))


class AlertsHandler(MonitorBase):
    """``GET ?since=ISO&run=ID&notebook=``: alert events, oldest first."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from nbprod.history.monitor_store import MonitorStore

        since_text = self.get_query_argument("since", None)
        since = None
        if since_text:
            try:
                since = _dt.datetime.fromisoformat(since_text.replace("Z", "+00:00"))
            except ValueError:
                raise RequestError(
                    f"since must be an ISO time such as 2024-01-31T12:00:00Z, not {since_text!r}"
                ) from None
            if since.tzinfo is None:
                since = since.replace(tzinfo=_dt.timezone.utc)
        run = self.get_query_argument("run", None)
        notebook = self.get_query_argument("notebook", None)
        alerts = await self.off_loop(
            lambda: MonitorStore(self.store).list_alerts(
                since=since, notebook=notebook, run_ids=[run] if run else None
            )
        )
        self.reply({"alerts": _iso(alerts)})


class BaselineHandler(MonitorBase):
    """``POST {notebook, run}``: pin a run as its notebook's baseline."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        run = body.get("run")
        notebook = body.get("notebook")
        if not isinstance(run, str) or not run:
            raise RequestError("the body needs 'run': the id of the new baseline run")
        if notebook is not None and not isinstance(notebook, str):
            raise RequestError("'notebook' must be a string")

        def pin() -> dict[str, Any]:
            found = self.store.get_run(run)
            if notebook and not (
                found.notebook == notebook or found.notebook.endswith("/" + notebook)
            ):
                raise RequestError(
                    f"run {found.id} is a run of {found.notebook}, not of {notebook}"
                )
            return set_baseline(self.project, self.store, found.id)

        self.reply(await self.off_loop(pin))
