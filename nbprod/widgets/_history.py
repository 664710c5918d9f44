"""``History``: the run history as a paged table, with a metric drawn across runs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import ipywidgets as w

from nbprod.config import ProjectConfig
from nbprod.errors import NbprodError
from nbprod.history.records import TERMINAL, RunRecord
from nbprod.values import pairs_text
from nbprod.widgets._watch import Poller, html_table, message, project_of

PAGE_SIZE = 20


class History(w.VBox):
    """The runs of a project, newest first, filtered and paged.

    Parameters
    ----------
    notebook : Path or str, optional
        Only the runs of this notebook (its project is the history's project).
    batch : str, optional
        Only the runs of this batch.
    status : str, optional
        Only runs with this status.
    page_size : int
        Runs per page.

    Notes
    -----
    While a run on the page has not ended, a thread re-reads the history
    every second; it stops when everything shown has ended or the widget is
    closed. Choosing a metric draws it across the runs of the page
    (matplotlib, into an Output widget).
    """

    def __init__(
        self,
        notebook: Path | str | None = None,
        *,
        batch: str | None = None,
        status: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__()
        self.notebook = notebook
        self.batch = batch
        self.status_filter = status
        self.page_size = page_size
        self.page = 0
        self.total = 0
        self.runs: list[RunRecord] = []
        self.message = w.HTML()
        self.table = w.HTML()
        self.previous_button = w.Button(description="Newer", icon="arrow-left")
        self.next_button = w.Button(description="Older", icon="arrow-right")
        self.page_label = w.HTML()
        self.metric = w.Dropdown(
            options=[("(metric)", "")], value="", description="chart"
        )
        self.chart = w.Image(format="png", layout=w.Layout(display="none"))
        self.chart_message = w.HTML()
        self._poller = Poller(self._tick)
        try:
            self.config: ProjectConfig | None = project_of(notebook)
        except NbprodError as exc:
            self.config = None
            self.message.value = message(str(exc), "error")
            self.children = [self.message]
            return
        self.previous_button.on_click(lambda _b: self.show_page(self.page - 1))
        self.next_button.on_click(lambda _b: self.show_page(self.page + 1))
        self.metric.observe(lambda _change: self.draw(), names="value")
        self.children = [
            self.message,
            self.table,
            w.HBox(
                [self.previous_button, self.page_label, self.next_button, self.metric]
            ),
            self.chart,
        ]
        self.refresh()

    def _notebook_filter(self) -> str | None:
        if self.notebook is None or self.config is None:
            return None
        return self.config.relpath(Path(self.notebook))

    def refresh(self) -> None:
        """Read the current page from the history and show it."""
        from nbprod.history.store import HistoryStore

        if self.config is None:
            return
        try:
            with HistoryStore(self.config.database_url) as store:
                query = {
                    "notebook": self._notebook_filter(),
                    "batch_id": self.batch,
                    "status": self.status_filter,
                }
                self.total = store.count_runs(**query)
                self.runs = store.list_runs(
                    **query, limit=self.page_size, offset=self.page * self.page_size
                )
        except NbprodError as exc:
            self.message.value = message(str(exc), "error")
            return
        self._show()
        if any(run.status not in TERMINAL for run in self.runs):
            self._poller.start()

    def show_page(self, page: int) -> None:
        """Go to page ``page`` (0: the newest runs)."""
        last = max(0, (self.total - 1) // self.page_size)
        self.page = min(max(page, 0), last)
        self.refresh()

    def _tick(self) -> bool:
        self.refresh()
        return any(run.status not in TERMINAL for run in self.runs)

    def _show(self) -> None:
        if not self.total:
            filters = [
                f"{name} {value}"
                for name, value in (
                    ("notebook", self._notebook_filter()),
                    ("batch", self.batch),
                    ("status", self.status_filter),
                )
                if value
            ]
            where = f" for {', '.join(filters)}" if filters else ""
            self.message.value = message(
                f"no runs yet{where}: start one with RunForm or `nbprod run`"
            )
        else:
            self.message.value = ""
        first = self.page * self.page_size
        self.page_label.value = (
            f"{first + 1}-{first + len(self.runs)} of {self.total}"
            if self.total
            else ""
        )
        self.previous_button.disabled = self.page == 0
        self.next_button.disabled = first + len(self.runs) >= self.total
        rows = []
        for run in self.runs:
            started = run.started_at or run.created_at
            rows.append(
                [
                    run.id,
                    run.notebook,
                    pairs_text(run.parameters),
                    run.status,
                    started.strftime("%Y-%m-%d %H:%M:%S") if started else "",
                    f"{run.duration:.1f}s" if run.duration is not None else "",
                    pairs_text(run.metrics),
                ]
            )
        self.table.value = (
            html_table(
                [
                    "run",
                    "notebook",
                    "parameters",
                    "status",
                    "started",
                    "time",
                    "metrics",
                ],
                rows,
            )
            if rows
            else ""
        )
        names = sorted(
            {
                name
                for run in self.runs
                for name, value in run.metrics.items()
                if _number(value)
            }
        )
        options = [("(metric)", ""), *((name, name) for name in names)]
        if [value for _, value in options] != [
            value for _, value in self.metric.options
        ]:
            current = self.metric.value
            self.metric.options = options
            self.metric.value = current if current in names else ""
        self.draw()

    def draw(self) -> None:
        """Draw the chosen metric across the runs of the page, oldest first."""
        name = self.metric.value
        points = [
            (run.id, float(run.metrics[name]))
            for run in reversed(self.runs)
            if name and _number(run.metrics.get(name))
        ]
        self.chart.layout.display = "none"
        self.chart_message.value = ""
        if not points:
            return
        try:
            png = metric_chart(name, points)
        except ImportError:
            self.chart_message.value = message(
                "drawing a metric needs matplotlib: pip install 'nbprod[widgets]'"
            )
            return
        self.chart.value = png
        self.chart.layout.display = ""

    def close(self) -> None:
        """Stop refreshing, then close the widget."""
        self._poller.stop()
        super().close()


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metric_chart(name: str, points: list[tuple[str, float]]) -> bytes:
    """A PNG of a metric over runs, on a run axis (a batch's runs start in the same second).

    Drawn on a bare matplotlib Figure (no pyplot state), so it works from the
    polling thread and outside a kernel.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 2.6), dpi=100)
    axes = figure.subplots()
    positions = list(range(1, len(points) + 1))
    axes.plot(positions, [value for _, value in points], marker="o")
    axes.set_xticks(positions, [run_id[-6:] for run_id, _ in points], rotation=45)
    axes.set_xlabel("run")
    axes.set_ylabel(name)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
