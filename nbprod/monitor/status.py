"""What the front doors ask of monitoring: the reports of the latest runs, baselines, series.

The CLI (``nbprod monitor``), the gate's ``monitor`` step and the server all
call these, so they agree on which notebooks are monitored, which run is the
latest, and what its checks are.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.config import ProjectConfig
from nbprod.errors import NotFoundError
from nbprod.history.records import SUCCEEDED
from nbprod.monitor.checks import Check, MonitorReport, check_run

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore


def monitored_notebooks(config: ProjectConfig, store: HistoryStore) -> list[str]:
    """Notebooks with a monitor table or with runs that recorded profiles or checks."""
    from nbprod.history.monitor_store import MonitorStore

    return sorted(
        set(config.monitor.notebooks) | set(MonitorStore(store).checked_notebooks())
    )


def resolve_notebook(config: ProjectConfig, store: HistoryStore, notebook: str) -> str:
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
    config: ProjectConfig, store: HistoryStore, run_id: str, baseline: str | None = None
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
    config: ProjectConfig,
    store: HistoryStore,
    notebook: str,
    baseline: str | None = None,
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
    store: HistoryStore,
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


def set_baseline(
    config: ProjectConfig, store: HistoryStore, run_id: str
) -> dict[str, Any]:
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
            hint="pick a succeeded run of the notebook from the run history",
        )
    stamp = MonitorStore(store).pin_baseline(run.notebook, run.id)
    return {"notebook": run.notebook, "run": run.id, "set_at": stamp.isoformat()}


def notebook_state(store: HistoryStore, notebook: str) -> dict[str, Any]:
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
    store: HistoryStore, notebook: str, key: str, limit: int = 100
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


#: bins of a numeric column's histogram in the Monitor view
HISTOGRAM_BINS = 20
#: categories shown in a categorical column's bars (the rest are "other")
BAR_CATEGORIES = 20


def distribution(
    store: HistoryStore, run_id: str, baseline_id: str, profile: str, column: str
) -> dict[str, Any] | None:
    """The baseline's and a run's distribution of one column, as shares on common bins.

    Numeric columns: a histogram of both samples over their common range;
    categorical ones: the most frequent categories of both plus ``other``.
    None when either run lacks the column.
    """
    import numpy as np

    from nbprod.history.monitor_store import MonitorStore
    from nbprod.monitor.drift import is_categorical
    from nbprod.monitor.profile import decode_sample

    monitor = MonitorStore(store)
    reference = monitor.get_profiles(baseline_id).get(profile, {}).get("columns", {})
    current = monitor.get_profiles(run_id).get(profile, {}).get("columns", {})
    ref, cur = reference.get(column), current.get(column)
    if ref is None or cur is None:
        return None

    def shares(counts: Any) -> list[float]:
        array = np.asarray(counts, dtype=np.float64)
        total = array.sum()
        return [float(v) for v in (array / total if total else array)]

    if is_categorical(ref) or is_categorical(cur):
        ref_counts = {str(k): v for k, v in ref.get("values", [])}
        cur_counts = {str(k): v for k, v in cur.get("values", [])}
        order = sorted(
            set(ref_counts) | set(cur_counts),
            key=lambda k: -(ref_counts.get(k, 0) + cur_counts.get(k, 0)),
        )
        labels = order[:BAR_CATEGORIES]
        rest = order[BAR_CATEGORIES:]

        has_other = bool(rest or ref.get("other") or cur.get("other"))

        def bars(counts: dict[str, int], other: int) -> list[float]:
            values = [counts.get(k, 0) for k in labels]
            if has_other:
                values.append(other + sum(counts.get(k, 0) for k in rest))
            return shares(values)

        return {
            "kind": "categorical",
            "labels": [*labels, "other"] if has_other else labels,
            "baseline": bars(ref_counts, ref.get("other", 0)),
            "current": bars(cur_counts, cur.get("other", 0)),
        }
    ref_sample = decode_sample(ref.get("sample"))
    cur_sample = decode_sample(cur.get("sample"))
    both = np.concatenate((ref_sample, cur_sample))
    if not len(both):
        return {"kind": "numeric", "edges": [], "baseline": [], "current": []}
    low, high = float(both.min()), float(both.max())
    if low == high:
        high = low + 1.0
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    return {
        "kind": "numeric",
        "edges": [float(e) for e in edges],
        "baseline": shares(np.histogram(ref_sample, edges)[0]),
        "current": shares(np.histogram(cur_sample, edges)[0]),
    }
