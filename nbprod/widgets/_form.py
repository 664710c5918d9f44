"""``RunForm``: a notebook's parameters as a form that starts runs and batches."""

from __future__ import annotations

import html
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import ipywidgets as w
import yaml

from nbprod.config import ProjectConfig, default_jobs
from nbprod.errors import Location, NbprodError, ParameterError
from nbprod.history.records import FAILED, RUNNING, SUCCEEDED, TERMINAL, RunRecord
from nbprod.notebook.parameters import NotebookParameter, ParametersCell
from nbprod.values import pairs_text
from nbprod.widgets._watch import Poller, html_table, message, project_of

#: a trailing comment that lists a parameter's choices: `# one of: a, b, c`
_CHOICES = re.compile(r"^\s*(?:one of|choices?)\s*:?\s*(?P<items>.+)$", re.IGNORECASE)


def choices_of(parameter: NotebookParameter) -> list[Any] | None:
    """The values a parameter's comment offers (``# one of: a, b``), typed like its default."""
    match = _CHOICES.match(parameter.comment or "")
    if not match or not parameter.literal or parameter.default is None:
        return None
    kind = type(parameter.default)
    values: list[Any] = []
    for item in re.split(r"\s*(?:,|\||/|\bor\b)\s*", match["items"].strip()):
        item = item.strip().strip("'\"")
        if not item:
            continue
        try:
            values.append(kind(item) if kind in (int, float) else item)
        except ValueError:
            return None
    if not values or kind not in (int, float, str):
        return None
    if parameter.default not in values:
        values.insert(0, parameter.default)
    return values


def _field(parameter: NotebookParameter) -> w.ValueWidget:
    # one label width for every field, so the inputs line up
    style = {"description_width": "9em"}
    choices = choices_of(parameter)
    default = parameter.default
    if choices:
        return w.Dropdown(
            options=choices, value=default, description=parameter.name, style=style
        )
    if parameter.literal and type(default) is bool:
        return w.Checkbox(value=default, description=parameter.name, style=style)
    if parameter.literal and type(default) is int:
        return w.IntText(value=default, description=parameter.name, style=style)
    if parameter.literal and type(default) is float:
        return w.FloatText(value=default, description=parameter.name, style=style)
    if parameter.literal and type(default) is str:
        return w.Text(value=default, description=parameter.name, style=style)
    # lists, dicts, dates, expressions: YAML text, checked like `nbprod run -y`
    return w.Text(
        value=parameter.default_source if parameter.literal else "",
        placeholder=parameter.default_source,
        description=parameter.name,
        style=style,
    )


def _yaml_value(text: str, parameter: NotebookParameter, where: Location) -> Any:
    """The value typed for a parameter that has no widget of its own, read as YAML."""
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        column = f" at column {mark.column + 1}" if mark else ""
        raise ParameterError(
            f"{parameter.name}: {text!r} is not a YAML value{column}",
            where,
            "write a literal such as [1, 2], {a: 1} or 2024-01-31",
        ) from None


class RunForm(w.VBox):
    """A form for one notebook's parameters, with Run, Batch and live results.

    Parameters
    ----------
    notebook : Path or str
        The notebook to run (its project is found as the command line finds it).
    timeout : float, optional
        Seconds a cell may run.

    Notes
    -----
    A click records the work in the project's history and starts a separate
    process (``python -m nbprod.run.detached``) that runs it exactly as
    ``nbprod run`` and ``nbprod batch`` do; the click returns at once and a
    thread follows the history until the work ends.
    """

    def __init__(self, notebook: Path | str, *, timeout: float | None = None) -> None:
        super().__init__()
        self.notebook = Path(notebook).resolve()
        self.timeout = timeout
        self.status = w.HTML()
        self.fields: dict[str, w.ValueWidget] = {}
        self.field_errors: dict[str, w.HTML] = {}
        self.batch_values: dict[str, w.Text] = {}
        self.run_button = w.Button(
            description="Run", button_style="primary", icon="play"
        )
        self.batch_button = w.Button(description="Run batch", icon="forward")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.grid = w.Textarea(
            placeholder="or a YAML grid, e.g.\nC: [0.1, 1.0]\nseed: [0, 1]",
            layout=w.Layout(width="100%", height="5em"),
        )
        self.jobs = w.BoundedIntText(value=1, min=1, max=256, description="jobs")
        self.run_count = w.HTML()
        self.progress = w.IntProgress(
            min=0, max=1, value=0, layout=w.Layout(width="60%")
        )
        self.progress_text = w.HTML()
        self.results = w.HTML()
        self._runs: list[str] = []
        self._batch: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._poller = Poller(self._refresh)
        self.cell: ParametersCell | None = None
        try:
            self.config: ProjectConfig | None = project_of(self.notebook)
            self.cell = self._read_parameters()
        except NbprodError as exc:
            self.config = None
            self.status.value = message(str(exc), "error")
            self.children = [self.status]
            return
        self._build()

    # -- building ------------------------------------------------------------

    def _read_parameters(self) -> ParametersCell | None:
        from nbprod.notebook.parameters import find_parameters_cell
        from nbprod.notebook.reader import read_notebook

        return find_parameters_cell(read_notebook(self.notebook), self.notebook)

    def _build(self) -> None:
        rows: list[w.Widget] = []
        parameters = self.cell.parameters if self.cell else []
        for parameter in parameters:
            field = _field(parameter)
            error = w.HTML()
            hint = html.escape(f"default {parameter.default_source}")
            if parameter.comment:
                hint += f" · {html.escape(parameter.comment)}"
            self.fields[parameter.name] = field
            self.field_errors[parameter.name] = error
            field.observe(lambda _change: self._update_count(), names="value")
            values = w.Text(
                placeholder="batch values, e.g. 0.1, 1.0",
                layout=w.Layout(width="16em"),
            )
            values.observe(lambda _change: self._update_count(), names="value")
            self.batch_values[parameter.name] = values
            rows.append(
                w.HBox([field, values, w.HTML(f"<small>{hint}</small>"), error])
            )
        if not parameters:
            self.status.value = message(
                f"{self.notebook.name} has no parameters cell: Run runs it with its own "
                "values (tag the cell that holds the defaults 'parameters' to get a form)"
            )
        self.grid.observe(lambda _change: self._update_count(), names="value")
        self.run_button.on_click(lambda _b: self.run())
        self.batch_button.on_click(lambda _b: self.run_batch())
        self.cancel_button.on_click(lambda _b: self.cancel())
        title = w.HTML(f"<b>{html.escape(self.notebook.name)}</b>")
        batch = [self.grid] if parameters else []
        self.children = [
            title,
            *rows,
            w.HBox([self.run_button]),
            *batch,
            w.HBox([self.batch_button, self.jobs, self.run_count, self.cancel_button]),
            w.HBox([self.progress, self.progress_text]),
            self.status,
            self.results,
        ]
        self._update_count()

    # -- values --------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The parameters the fields hold, only those that differ from the defaults."""
        chosen: dict[str, Any] = {}
        for parameter in self.cell.parameters if self.cell else []:
            field = self.fields[parameter.name]
            value = field.value
            if isinstance(field, w.Text) and type(parameter.default) is not str:
                assert self.cell is not None
                where = Location(
                    str(self.notebook),
                    self.cell.index,
                    self.cell.cell_id,
                    parameter.line,
                )
                value = _yaml_value(value, parameter, where)
                if value is None and not field.value.strip():
                    continue  # an expression left empty keeps the notebook's default
            if (
                parameter.literal
                and value == parameter.default
                and type(value) is type(parameter.default)
            ):
                continue
            chosen[parameter.name] = value
        return chosen

    def parameter_sets(self) -> list[dict[str, Any]]:
        """The batch's parameter sets, from the YAML grid or the per-parameter values."""
        from nbprod.run.batch import expand_grid

        if self.grid.value.strip():
            try:
                data = yaml.safe_load(self.grid.value)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = (
                    f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
                )
                raise ParameterError(f"the grid is not valid YAML{where}") from None
            return expand_grid(data, "the grid")
        grid: dict[str, list[Any]] = {}
        for parameter in self.cell.parameters if self.cell else []:
            text = self.batch_values[parameter.name].value.strip()
            if not text:
                continue
            if type(parameter.default) is str:
                grid[parameter.name] = [t.strip() for t in text.split(",") if t.strip()]
            else:
                try:
                    grid[parameter.name] = list(yaml.safe_load(f"[{text}]"))
                except yaml.YAMLError:
                    raise ParameterError(
                        f"batch values of {parameter.name!r} are not a list: {text}"
                    ) from None
        if not grid:
            return []
        base = self.values()
        return [{**base, **chosen} for chosen in expand_grid(grid, "the batch values")]

    def _check(self) -> bool:
        """Check the single-run values; mark the field of a bad one. True when all fit."""
        from nbprod.run.params import check_parameters

        for error in self.field_errors.values():
            error.value = ""
        self.status.value = ""
        try:
            check_parameters(self.cell, self.values(), self.notebook)
        except ParameterError as exc:
            self._mark(exc)
            return False
        except NbprodError as exc:
            self.status.value = message(str(exc), "error")
            return False
        return True

    def _mark(self, exc: NbprodError) -> None:
        """Show an error next to its field (by the parameter's line), else below the form."""
        line = exc.location.line if exc.location else None
        for parameter in self.cell.parameters if self.cell else []:
            if line is not None and parameter.line == line:
                self.field_errors[parameter.name].value = message(exc.message, "error")
                self.status.value = message(
                    f"{parameter.name}: fix the value to run", "error"
                )
                return
        self.status.value = message(exc.message, "error")

    def _update_count(self) -> None:
        try:
            sets = self.parameter_sets()
        except NbprodError as exc:
            self.run_count.value = message(exc.message, "error")
            self.batch_button.disabled = True
            return
        busy = self._poller.running
        self.batch_button.disabled = busy or not sets
        self.run_count.value = (
            f"{len(sets)} run{'s' if len(sets) != 1 else ''}" if sets else ""
        )
        if not busy:
            self.jobs.value = default_jobs(len(sets) or 1)

    # -- actions -------------------------------------------------------------

    def run(self) -> RunRecord | None:
        """Start one run with the form's values; return its record (None when refused)."""
        from nbprod.history.store import HistoryStore
        from nbprod.run.detached import start_detached
        from nbprod.run.single import queue_run

        if self.config is None or self._poller.running or not self._check():
            return None
        with HistoryStore(self.config.database_url) as store:
            try:
                record = queue_run(
                    self.config, self.notebook, self.values(), store=store
                )
            except NbprodError as exc:
                self._mark(exc)
                return None
        self._process = start_detached(
            self.config, "run", record.id, timeout=self.timeout
        )
        self._follow([record.id], None)
        return record

    def run_batch(self) -> str | None:
        """Start a batch over the batch values or grid; return its id (None when refused)."""
        from nbprod.history.store import HistoryStore
        from nbprod.run.batch import create_batch
        from nbprod.run.detached import start_detached

        if self.config is None or self._poller.running:
            return None
        try:
            sets = self.parameter_sets()
            if not sets:
                raise ParameterError(
                    "give batch values for a parameter, or a YAML grid"
                )
            with HistoryStore(self.config.database_url) as store:
                created = create_batch(
                    self.config, self.notebook, sets, jobs=self.jobs.value, store=store
                )
        except NbprodError as exc:
            self._mark(exc)
            return None
        batch_id = created.batch.id
        self._process = start_detached(
            self.config, "batch", batch_id, jobs=self.jobs.value, timeout=self.timeout
        )
        self._follow([run.id for run in created.runs], batch_id)
        return batch_id

    def cancel(self) -> None:
        """Stop the batch or run this form started (runs end cancelled)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self.status.value = message("stopping…")

    def close(self) -> None:
        """Stop following the history, then close the widget."""
        self._poller.stop()
        super().close()

    # -- following -----------------------------------------------------------

    def _follow(self, run_ids: list[str], batch_id: str | None) -> None:
        self._runs, self._batch = run_ids, batch_id
        self.progress.max = len(run_ids)
        self.progress.value = 0
        self.run_button.disabled = self.batch_button.disabled = True
        self.cancel_button.disabled = False
        what = f"batch {batch_id}" if batch_id else f"run {run_ids[0]}"
        self.status.value = message(f"started {what}")
        self._poller.start()

    def _refresh(self) -> bool:
        """Read the followed runs; return True while any has not ended."""
        from nbprod.history.store import HistoryStore

        assert self.config is not None
        with HistoryStore(self.config.database_url) as store:
            runs = [store.get_run(run_id) for run_id in self._runs]
        done = [r for r in runs if r.status in TERMINAL]
        failed = sum(r.status == FAILED for r in runs)
        running = sum(r.status == RUNNING for r in runs)
        self.progress.value = len(done)
        complete = len(done) == len(runs)
        self.progress.bar_style = (
            "danger" if failed else ("success" if complete else "")
        )
        self.progress_text.value = (
            f"{len(done)}/{len(runs)} done · {failed} failed · {running} running"
        )
        self.results.value = self._table(runs)
        finished = len(done) == len(runs)
        lost = self._process is not None and self._process.poll() not in (
            None,
            0,
            1,
            130,
        )
        if finished or lost:
            self.run_button.disabled = self.batch_button.disabled = False
            self.cancel_button.disabled = True
            ok = finished and all(r.status == SUCCEEDED for r in runs)
            if lost and not finished:
                # the process ended without recording an end: say why
                text = self._last_log_line()
            elif ok:
                text = "all runs succeeded" if len(runs) > 1 else "the run succeeded"
            else:
                text = f"finished: {failed} failed" if failed else "finished: cancelled"
            self.status.value = message(text, "ok" if ok else "error")
            return False
        return True

    def _last_log_line(self) -> str:
        from nbprod.run.detached import log_path

        assert self.config is not None
        target = self._batch or self._runs[0]
        lines = log_path(self.config, target).read_text("utf-8", "replace").splitlines()
        return lines[-1] if lines else "the run's process ended unexpectedly"

    def _table(self, runs: list[RunRecord]) -> str:
        rows = []
        for run in runs:
            output = ""
            if run.output_path and self.config is not None:
                target = self.config.root / run.output_path
                link = Path(os.path.relpath(target, Path.cwd())).as_posix()
                output = f'<a href="{html.escape(link)}" target="_blank">{html.escape(run.id)}</a>'
            metrics = pairs_text(run.metrics)
            parameters = pairs_text(run.parameters)
            took = f"{run.duration:.1f}s" if run.duration is not None else ""
            if run.error is not None:
                metrics = f"{run.error.ename}: {run.error.evalue}"[:200]
            rows.append(
                [output or html.escape(run.id), parameters, run.status, took, metrics]
            )
        return html_table(
            ["run", "parameters", "status", "time", "metrics"], rows, raw=(0,)
        )
