"""``Monitor``: a notebook's monitoring state, the checks of its latest run, its alerts."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from nbprod.config import ProjectConfig
from nbprod.errors import NbprodError
from nbprod.values import short_text
from nbprod.widgets._watch import html_table, message, project_of

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore


class Monitor(w.VBox):
    """The drift and metric checks of a notebook's latest run against its baseline.

    Parameters
    ----------
    notebook : Path or str
        The monitored notebook.
    run : str, optional
        Show this run's checks instead of the latest run's.

    Notes
    -----
    The same reports as ``nbprod monitor`` and the JupyterLab Monitor view:
    the state (ok / alert, since when), the drifted columns, each check with
    its method, statistic and threshold, and the last alerts. **Refresh**
    reads the history again; **Use as baseline** pins the shown run.
    """

    def __init__(self, notebook: Path | str, *, run: str | None = None) -> None:
        super().__init__()
        self.notebook = notebook
        self.run = run
        self.report: Any = None
        self.state: dict[str, Any] = {}
        self.summary = w.HTML()
        self.checks = w.HTML()
        self.alerts = w.HTML()
        self.note = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.baseline_button = w.Button(
            description="Use as baseline", icon="thumb-tack"
        )
        try:
            self.config: ProjectConfig | None = project_of(notebook)
        except NbprodError as exc:
            self.config = None
            self.summary.value = message(str(exc), "error")
            self.children = [self.summary]
            return
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.baseline_button.on_click(lambda _b: self.use_as_baseline())
        self.children = [
            self.summary,
            self.checks,
            w.HBox([self.refresh_button, self.baseline_button, self.note]),
            self.alerts,
        ]
        self.refresh()

    def refresh(self) -> None:
        """Read the report, the state and the alerts of the notebook again."""
        from nbprod.monitor.status import monitor_reports, notebook_state
        from nbprod.run.recovery import open_history

        if self.config is None:
            return
        try:
            with open_history(self.config) as store:
                self.report = monitor_reports(
                    self.config, store, [str(self.notebook)], run_id=self.run
                )[0]
                self.state = notebook_state(store, self.report.notebook)
                alerts = self._alerts(store, self.report.notebook)
        except NbprodError as exc:
            self.report = None
            self.summary.value = message(str(exc), "error")
            self.checks.value = self.alerts.value = ""
            self.baseline_button.disabled = True
            return
        self._show(alerts)

    @staticmethod
    def _alerts(store: HistoryStore, notebook: str) -> list[dict[str, Any]]:
        from nbprod.history.monitor_store import MonitorStore

        events = MonitorStore(store).list_alerts(notebook=notebook, limit=10)
        return [e for e in events if e["notebook"] == notebook]

    def _show(self, alerts: list[dict[str, Any]]) -> None:
        report = self.report
        self.baseline_button.disabled = report.run is None
        if report.run is None:
            self.summary.value = message(
                f"{report.notebook}: no succeeded run yet, so nothing is checked"
            )
            self.checks.value = self.alerts.value = ""
            return
        state = self.state.get("state", "ok")
        since = self.state.get("since")
        head = (
            f"<b>{html.escape(report.notebook)}</b> · run {html.escape(report.run)} "
            f"against baseline {html.escape(str(report.baseline))} "
            f"({html.escape(report.baseline_source)}) · "
        )
        verdict = message(
            f"{'ALERT' if state == 'alert' else 'ok'}"
            + (f" since {since[:19].replace('T', ' ')}" if since else ""),
            "error" if state == "alert" else "ok",
        )
        drifted = report.drifted_columns()
        columns = f"<br>drifted: {html.escape(', '.join(drifted))}" if drifted else ""
        self.summary.value = head + verdict + columns
        rows = []
        for check in report.checks:
            subject = check.column or check.metric or check.profile or ""
            if check.profile and check.column:
                subject = f"{check.profile}.{check.column}"
            rows.append(
                [
                    "ok" if check.ok else ("ALERT" if check.alert else "failed"),
                    check.kind,
                    subject,
                    check.method,
                    short_text(check.statistic) if check.statistic is not None else "",
                    short_text(check.threshold) if check.threshold is not None else "",
                    check.detail,
                ]
            )
        self.checks.value = (
            html_table(
                ["", "kind", "what", "method", "statistic", "threshold", "detail"], rows
            )
            if rows
            else message("the run recorded nothing to check")
        )
        if alerts:
            self.alerts.value = "<b>alerts</b>" + html_table(
                ["when", "event", "check"],
                [
                    [str(a["created_at"])[:19], a["event"], a["key"]]
                    for a in reversed(alerts)
                ],
            )
        else:
            self.alerts.value = ""

    def use_as_baseline(self) -> None:
        """Pin the shown run as the notebook's baseline, then show the checks again."""
        from nbprod.monitor.status import set_baseline
        from nbprod.run.recovery import open_history

        if self.config is None or self.report is None or self.report.run is None:
            return
        try:
            with open_history(self.config) as store:
                pinned = set_baseline(self.config, store, self.report.run)
        except NbprodError as exc:
            self.note.value = message(str(exc), "error")
            return
        self.refresh()
        # the checks already made stay as they were (the audit trail): the pin
        # is the baseline of the runs that come next
        self.note.value = message(
            f"baseline of {pinned['notebook']} pinned to run {pinned['run']}: "
            "the next runs are checked against it",
            "ok",
        )
