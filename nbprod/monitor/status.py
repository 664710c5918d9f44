"""What the front doors ask of monitoring: the reports of the latest runs, baselines, series.

The CLI (``nbprod monitor``), the gate's ``monitor`` step and the server all
call these, so they agree on which notebooks are monitored, which run is the
latest, and what its checks are.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from nbprod.config import ProjectConfig
from nbprod.errors import NotFoundError
from nbprod.history.records import SUCCEEDED
from nbprod.monitor.checks import Check, MonitorReport, check_run


def monitored_notebooks(config: ProjectConfig, store: Any) -> list[str]:
    """Notebooks with a monitor table or with runs that recorded profiles or checks."""
    from nbprod.history.monitor_store import MonitorStore

    return sorted(
        set(config.monitor.notebooks) | set(MonitorStore(store).checked_notebooks())
    )


def resolve_notebook(config: ProjectConfig, store: Any, notebook: str) -> str:
    """The project-relative path of a notebook named by a path or a file name.

    Raises
    ------
    NotFoundError
        When no monitored notebook matches.
    """
    path = Path(notebook)
    candidates = [path, config.root / path]
    wanted = next(
        (config.relpath(p) for p in candidates if p.suffix == ".ipynb" and p.exists()),
        path.as_posix(),
    )
    known = monitored_notebooks(config, store)
    for name in known:
        if name == wanted or name.endswith("/" + wanted):
            return name
    raise NotFoundError(
        f"{notebook!r} is not a monitored notebook",
        hint=(
            f"monitored: {', '.join(known)}"
            if known
            else 'record a profile with nbprod.profile(...) or add [tool.nbprod.monitor."<notebook>"]'
        ),
    )


def report_for_run(
    config: ProjectConfig, store: Any, run_id: str, baseline: str | None = None
) -> MonitorReport:
    """The checks of one run: as stored, or checked now (and stored) when it never was.

    With ``baseline`` the run is checked against that run and nothing is stored.

    Raises
    ------
    NotFoundError
        For an unknown run or baseline.
    ConfigError
        For a monitor setting that does not work on this run.
    """
    from nbprod.history.monitor_store import MonitorStore

    run = store.get_run(run_id)
    monitor = MonitorStore(store)
    if baseline is None:
        stored = monitor.get_checks(run.id)
        if stored is not None:
            checks = [Check.from_dict(c) for c in stored[1]]
            return MonitorReport(run.notebook, run.id, stored[0], "stored", checks)
    report = check_run(config, run, store, baseline=baseline)
    if baseline is None and run.status == SUCCEEDED:
        monitor.save_checks(
            run.id, run.notebook, report.baseline, [c.to_dict() for c in report.checks]
        )
    return report


def latest_report(
    config: ProjectConfig, store: Any, notebook: str, baseline: str | None = None
) -> MonitorReport:
    """The checks of the latest succeeded run of a (resolved) notebook.

    A notebook without a succeeded run yet gives a report with no run and no checks.
    """
    runs = store.list_runs(notebook=notebook, status=SUCCEEDED, limit=1)
    runs = [r for r in runs if r.notebook == notebook]
    if not runs:
        return MonitorReport(notebook, None, None, "none", [])
    return report_for_run(config, store, runs[0].id, baseline)


def monitor_reports(
    config: ProjectConfig,
    store: Any,
    notebooks: list[str] | None = None,
    run_id: str | None = None,
    baseline: str | None = None,
) -> list[MonitorReport]:
    """The reports of the latest run of each notebook (all monitored ones by default), or of ``run_id``.

    Raises
    ------
    NotFoundError
        For an unknown notebook, run or baseline.
    ConfigError
        For monitor settings that do not work.
    """
    if run_id is not None:
        return [report_for_run(config, store, run_id, baseline)]
    names = (
        [resolve_notebook(config, store, n) for n in notebooks]
        if notebooks
        else monitored_notebooks(config, store)
    )
    return [latest_report(config, store, name, baseline) for name in names]


def set_baseline(config: ProjectConfig, store: Any, run_id: str) -> dict[str, Any]:
    """Pin a run as its notebook's baseline; return ``{"notebook", "run", "set_at"}``.

    Raises
    ------
    NotFoundError
        For an unknown run.
    """
    from nbprod.history.monitor_store import MonitorStore

    run = store.get_run(run_id)
    if run.status != SUCCEEDED:
        raise NotFoundError(
            f"run {run.id} {run.status}: only a succeeded run can be a baseline",
            hint="list the succeeded runs with `nbprod runs --status succeeded`",
        )
    stamp = MonitorStore(store).pin_baseline(run.notebook, run.id)
    return {"notebook": run.notebook, "run": run.id, "set_at": stamp.isoformat()}


def notebook_state(store: Any, notebook: str) -> dict[str, Any]:
    """A notebook's alert state: ``alert`` with the failing keys and since when, or ``ok``."""
    from nbprod.history.monitor_store import MonitorStore

    events = MonitorStore(store).list_alerts(notebook=notebook, limit=10_000)
    events = [e for e in events if e["notebook"] == notebook]
    last: dict[str, dict[str, Any]] = {}
    for event in events:
        last[event["key"]] = event
    failing = [e for e in last.values() if e["event"] == "fired"]
    stamps: list[_dt.datetime]
    if failing:
        stamps = [e["created_at"] for e in failing]
        return {
            "state": "alert",
            "since": min(stamps).isoformat(),
            "failing": sorted(e["key"] for e in failing),
        }
    stamps = [e["created_at"] for e in events]
    return {
        "state": "ok",
        "since": max(stamps).isoformat() if stamps else None,
        "failing": [],
    }


def check_series(
    store: Any, notebook: str, key: str, limit: int = 100
) -> list[dict[str, Any]]:
    """One check's statistic, threshold and verdict over the runs of a notebook, oldest first."""
    from nbprod.history.monitor_store import MonitorStore

    return [
        {
            "run": c["run"],
            "created_at": (
                c["run_created_at"].isoformat() if c["run_created_at"] else None
            ),
            "baseline": c["baseline"],
            "method": c["method"],
            "statistic": c["statistic"],
            "threshold": c["threshold"],
            "ok": c["ok"],
            "value": c["value"],
        }
        for c in MonitorStore(store).check_series(notebook, key, limit)
    ]
