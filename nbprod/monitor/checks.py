"""Checks of a run against its baseline: drift of its profiles, rules on its metrics.

:func:`check_run` compares a finished run with its notebook's baseline run and
returns a :class:`MonitorReport`. A drifted column counts as an alert when the
configuration names it (``drift.columns``); otherwise the profile's share rule
decides (a profile drifts as a whole when the share of drifted columns reaches
``drift.share``), as a lone column drifting by chance among many is expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbprod.config import NotebookMonitor, ProjectConfig
from nbprod.errors import ConfigError, Location, NotFoundError
from nbprod.history.records import SUCCEEDED, RunRecord
from nbprod.monitor.drift import column_drift

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore

DRIFT, METRIC = "drift", "metric"


@dataclass
class Check:
    """One check of a run.

    Attributes
    ----------
    kind : str
        ``drift`` or ``metric``.
    key : str
        What is checked, stable across runs (``drift:input:tenure``,
        ``drift:input`` for the share rule, ``metric:auc:min``).
    method : str
        The drift method or the metric rule (``min``, ``max``, ``max_drop``,
        ``max_drop_pct``).
    ok : bool
        Whether the check passed.
    alert : bool
        Whether a failure of this check is an alert.
    detail : str
        One line for people.
    profile, column, metric : str or None
        What the check is about.
    statistic, threshold : float or None
        The number compared and the bound it was compared with.
    value : Any
        Extra data: for metrics the run's and the baseline's values.
    """

    kind: str
    key: str
    method: str
    ok: bool
    alert: bool
    detail: str
    profile: str | None = None
    column: str | None = None
    metric: str | None = None
    statistic: float | None = None
    threshold: float | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The check as JSON (the fields of ``nbprod monitor --json``)."""
        return {
            "kind": self.kind,
            "profile": self.profile,
            "column": self.column,
            "metric": self.metric,
            "method": self.method,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "ok": self.ok,
            "alert": self.alert,
            "key": self.key,
            "detail": self.detail,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        """Rebuild a check from :meth:`to_dict`'s (or the history's) mapping."""
        return cls(
            kind=data["kind"],
            key=data["key"],
            method=data["method"],
            ok=bool(data["ok"]),
            alert=bool(data["alert"]),
            detail=data.get("detail") or "",
            profile=data.get("profile"),
            column=data.get("column"),
            metric=data.get("metric"),
            statistic=data.get("statistic"),
            threshold=data.get("threshold"),
            value=data.get("value"),
        )


@dataclass
class MonitorReport:
    """The checks of one run of a notebook against its baseline.

    Attributes
    ----------
    notebook : str
        The notebook (project-relative path).
    run : str or None
        The checked run's id (None: the notebook has no succeeded run yet).
    baseline : str or None
        The baseline run's id (None: no succeeded run to compare with yet).
    baseline_source : str
        How the baseline was chosen: ``first``, ``previous``, ``pinned``,
        ``config`` (a run id in the configuration), ``option`` (``--baseline``)
        or ``none``.
    checks : list of Check
        Every check, drift first.
    """

    notebook: str
    run: str | None
    baseline: str | None
    baseline_source: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no alerting check failed."""
        return not self.alerts

    @property
    def alerts(self) -> list[Check]:
        """The failing checks that are alerts."""
        return [c for c in self.checks if c.alert and not c.ok]

    def drifted_columns(self) -> list[str]:
        """``profile.column`` of every drifted column."""
        return [
            f"{c.profile}.{c.column}"
            for c in self.checks
            if c.kind == DRIFT and c.column is not None and not c.ok
        ]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON (``nbprod monitor --json`` and the server's ``monitor``)."""
        return {
            "notebook": self.notebook,
            "run": self.run,
            "baseline": self.baseline,
            "baseline_source": self.baseline_source,
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }


def notebook_settings(config: ProjectConfig, notebook: str) -> NotebookMonitor:
    """The monitor settings of a notebook: its table, or the defaults (drift of every profile)."""
    return config.monitor.for_notebook(notebook) or NotebookMonitor()


def resolve_baseline(
    config: ProjectConfig,
    run: RunRecord,
    store: HistoryStore,
    monitor: Any,
    baseline: str | None = None,
) -> tuple[RunRecord | None, str]:
    """Choose the baseline run of ``run``; return it (or None) and how it was chosen.

    An explicit ``baseline`` wins, then a pinned one (``--set-baseline``), then
    the notebook's ``baseline`` setting.

    Raises
    ------
    NotFoundError
        When an explicit baseline run does not exist.
    ConfigError
        When the configured baseline run id does not exist.
    """
    if baseline is not None:
        return store.get_run(baseline), "option"
    pinned = monitor.pinned_baseline(run.notebook)
    if pinned is not None:
        try:
            return store.get_run(pinned[0]), "pinned"
        except NotFoundError:
            pass  # the pinned run was deleted: fall back to the configuration
    setting = notebook_settings(config, run.notebook).baseline
    if setting in ("first", "previous"):
        found = monitor.succeeded_run_ids(
            run.notebook,
            before=run.created_at if setting == "previous" else None,
            first=setting == "first",
        )
        return (store.get_run(found) if found else None), setting
    try:
        return store.get_run(setting), "config"
    except NotFoundError:
        raise ConfigError(
            f'the baseline run {setting!r} of "{run.notebook}" is not in the history',
            Location(str(config.root / "pyproject.toml")),
            hint='use "first", "previous" or the id of a run in the run history',
        ) from None


def _drift_checks(
    config: ProjectConfig,
    settings: NotebookMonitor,
    notebook: str,
    current: dict[str, Any],
    reference: dict[str, Any],
) -> list[Check]:
    checks: list[Check] = []
    for name in dict.fromkeys([*reference, *current]):
        key = f"{DRIFT}:{name}"
        if name not in current:
            checks.append(
                Check(
                    DRIFT,
                    key,
                    "missing",
                    False,
                    True,
                    "the baseline recorded this profile; this run did not",
                    profile=name,
                )
            )
            continue
        if name not in reference:
            checks.append(
                Check(
                    DRIFT,
                    key,
                    "share",
                    True,
                    False,
                    "the baseline has no profile of this name: nothing to compare",
                    profile=name,
                )
            )
            continue
        ref_columns = reference[name].get("columns", {})
        cur_columns = current[name].get("columns", {})
        columns = list(dict.fromkeys([*ref_columns, *cur_columns]))
        drifted = 0
        for column in columns:
            rule = settings.columns.get(column)
            try:
                result = column_drift(
                    ref_columns.get(column),
                    cur_columns.get(column),
                    rule.method if rule else None,
                    rule.threshold if rule else None,
                )
            except ValueError as exc:
                raise ConfigError(
                    f'"{notebook}", column {column!r}: {exc}',
                    Location(str(config.root / "pyproject.toml")),
                    hint="fix its drift.columns entry",
                ) from None
            drifted += result.drifted
            checks.append(
                Check(
                    DRIFT,
                    f"{key}:{column}",
                    result.method,
                    not result.drifted,
                    rule is not None,
                    result.detail,
                    profile=name,
                    column=column,
                    statistic=result.statistic,
                    threshold=result.threshold,
                )
            )
        share = drifted / len(columns) if columns else 0.0
        whole = share >= settings.share
        checks.append(
            Check(
                DRIFT,
                key,
                "share",
                not whole,
                True,
                f"{drifted} of {len(columns)} columns drifted"
                + (f" (≥ {settings.share:g}: the profile drifted)" if whole else ""),
                profile=name,
                statistic=share,
                threshold=settings.share,
            )
        )
    return checks


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _metric_checks(
    settings: NotebookMonitor, run: RunRecord, baseline: RunRecord | None
) -> list[Check]:
    checks: list[Check] = []
    for metric, rule in settings.metrics.items():
        raw = run.metrics.get(metric)
        value = _number(raw)
        base = _number(baseline.metrics.get(metric)) if baseline is not None else None
        values = {"value": raw, "baseline": base}
        bounds = [
            (name, bound)
            for name, bound in (
                ("min", rule.min),
                ("max", rule.max),
                ("max_drop", rule.max_drop),
                ("max_drop_pct", rule.max_drop_pct),
            )
            if bound is not None
        ]
        for name, bound in bounds:
            key = f"{METRIC}:{metric}:{name}"
            check = Check(
                METRIC,
                key,
                name,
                True,
                True,
                "",
                metric=metric,
                threshold=bound,
                value=values,
            )
            checks.append(check)
            if value is None:
                check.ok = False
                check.detail = (
                    "not recorded by this run"
                    if metric not in run.metrics
                    else f"not a number: {raw!r}"
                )
                continue
            if name in ("min", "max"):
                check.statistic = value
                check.ok = value >= bound if name == "min" else value <= bound
                check.detail = (
                    f"{value:g} {'≥' if name == 'min' else '≤'} {bound:g}"
                    + ("" if check.ok else ": out of bounds")
                )
                continue
            if base is None or baseline is None or baseline.id == run.id:
                check.detail = "no baseline value to compare with"
                continue
            drop = base - value
            if name == "max_drop_pct":
                if base == 0:
                    check.detail = "the baseline value is 0: no relative drop"
                    continue
                drop = drop / abs(base) * 100
            check.statistic = drop
            check.ok = drop <= bound
            unit = "%" if name == "max_drop_pct" else ""
            check.detail = f"dropped {drop:g}{unit} from {base:g} to {value:g} (at most {bound:g}{unit})"
    return checks


def check_run(
    config: ProjectConfig,
    run: RunRecord,
    store: HistoryStore,
    *,
    baseline: str | None = None,
) -> MonitorReport:
    """Check a run against its baseline: drift of every profile, the metric rules.

    Parameters
    ----------
    config : ProjectConfig
        The project (its ``[tool.nbprod.monitor]`` settings).
    run : RunRecord
        The run to check (its profiles must be stored).
    store : HistoryStore
        The history.
    baseline : str, optional
        Compare with this run instead of the configured baseline.

    Returns
    -------
    MonitorReport
        The checks. A run that is its own baseline (the first one) has only
        the checks that need no baseline (metric ``min``/``max``).

    Raises
    ------
    ConfigError
        For a configured baseline run or drift method that does not exist.
    NotFoundError
        For an unknown ``baseline``.
    """
    from nbprod.history.monitor_store import MonitorStore

    monitor = MonitorStore(store)
    settings = notebook_settings(config, run.notebook)
    reference, source = resolve_baseline(config, run, store, monitor, baseline)
    checks: list[Check] = []
    if reference is not None and reference.id != run.id and run.status == SUCCEEDED:
        checks += _drift_checks(
            config,
            settings,
            run.notebook,
            monitor.get_profiles(run.id),
            monitor.get_profiles(reference.id),
        )
    checks += _metric_checks(settings, run, reference)
    return MonitorReport(
        run.notebook,
        run.id,
        reference.id if reference is not None else None,
        source if reference is not None else "none",
        checks,
    )
