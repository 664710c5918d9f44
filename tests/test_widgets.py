"""The ipywidgets front door: RunForm and History driven in-process and in a real kernel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from helpers.run import write_notebook
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from nbprod.cli import main
from nbprod.config import load_config
from nbprod.history.records import TERMINAL
from nbprod.history.store import HistoryStore
from nbprod.widgets import History, RunForm
from nbprod.widgets._form import choices_of

pytestmark = pytest.mark.slow

PARAMETERS = (
    "n = 3  # rows\n"
    "rate = 0.5\n"
    "label = 'a'  # one of: a, b, c\n"
    "verbose = False\n"
    "sizes = [1, 2]"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod]\npackage = "demo"\n')
    monkeypatch.delenv("NBPROD_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _notebook(project: Path, *extra: str) -> Path:
    return write_notebook(
        project / "notebooks" / "score.ipynb",
        PARAMETERS,
        "import nbprod\nnbprod.record('total', n * rate + sum(sizes))",
        *extra,
    )


def _wait(form: RunForm, seconds: float = 120) -> None:
    """Wait for the form's poller to see the work end (it polls every second)."""
    deadline = time.monotonic() + seconds
    while form._poller.running and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not form._poller.running, "the work did not end"


def test_the_form_has_one_typed_field_per_parameter(project: Path) -> None:
    form = RunForm(_notebook(project))
    kinds = {name: type(field).__name__ for name, field in form.fields.items()}
    assert kinds == {
        "n": "IntText",
        "rate": "FloatText",
        "label": "Dropdown",
        "verbose": "Checkbox",
        "sizes": "Text",
    }
    assert form.fields["label"].options == ("a", "b", "c")
    assert [field.description for field in form.fields.values()] == list(form.fields)
    assert form.values() == {}, "untouched fields keep the notebook's defaults"
    assert choices_of(form.cell.get("n")) is None


def test_run_records_a_run_and_the_table_shows_its_metric(project: Path) -> None:
    form = RunForm(_notebook(project))
    form.fields["n"].value = 10
    form.fields["sizes"].value = "[5, 5]"
    record = form.run()
    assert record is not None
    assert record.parameters == {"n": 10, "sizes": [5, 5]}
    assert form.run_button.disabled, "a second click waits for the first run"
    _wait(form)
    with HistoryStore(load_config(project).database_url) as store:
        run = store.get_run(record.id)
    assert run.status == "succeeded"
    assert run.metrics == {"total": 15.0}
    assert "total=15" in form.results.value and "succeeded" in form.results.value
    assert "1/1 done" in form.progress_text.value
    assert not form.run_button.disabled
    # the command line sees the same run
    listed = CliRunner().invoke(main, ["runs", "--json"])
    assert record.id in {r["id"] for r in json.loads(listed.stdout)}


def test_a_bad_value_is_shown_on_its_field_and_nothing_runs(project: Path) -> None:
    form = RunForm(_notebook(project))
    form.fields["sizes"].value = "{not: [valid"
    assert form.run() is None
    form.fields["sizes"].value = "'text'"
    assert form.run() is None
    assert "sizes" in form.field_errors["sizes"].value
    assert all(not e.value for name, e in form.field_errors.items() if name != "sizes")
    with HistoryStore(load_config(project).database_url) as store:
        assert store.count_runs() == 0


def test_batch_values_count_runs_and_the_batch_runs_to_the_end(project: Path) -> None:
    form = RunForm(_notebook(project))
    form.batch_values["n"].value = "1, 2"
    form.batch_values["rate"].value = "0.1, 1.0"
    assert form.run_count.value == "4 runs"
    sets = form.parameter_sets()
    assert {(s["n"], s["rate"]) for s in sets} == {
        (1, 0.1),
        (1, 1.0),
        (2, 0.1),
        (2, 1.0),
    }
    assert all(type(s["rate"]) is float for s in sets), "1.0 stays a float"
    form.batch_values["n"].value = "1, x"
    assert "expects int" in form.run_count.value or form.run_batch() is None
    form.batch_values["n"].value = "1, 2"
    form.jobs.value = 2
    batch_id = form.run_batch()
    assert batch_id is not None
    _wait(form)
    assert form.progress.value == form.progress.max == 4
    assert "4/4 done · 0 failed" in form.progress_text.value
    history = History(batch=batch_id)
    assert history.total == 4 and len(history.runs) == 4
    assert all(run.batch_id == batch_id for run in history.runs)


def test_cancel_stops_a_batch_and_its_runs_end_cancelled(project: Path) -> None:
    form = RunForm(_notebook(project, "import time\ntime.sleep(60)"))
    form.grid.value = "n: [1, 2, 3]"
    assert form.run_count.value == "3 runs"
    form.jobs.value = 1
    batch_id = form.run_batch()
    assert batch_id is not None
    config = load_config(project)
    deadline = time.monotonic() + 90
    with HistoryStore(config.database_url) as store:
        while time.monotonic() < deadline:
            if any(r.status == "running" for r in store.list_runs(batch_id=batch_id)):
                break
            time.sleep(0.3)
    form.cancel()
    _wait(form)
    with HistoryStore(config.database_url) as store:
        runs = store.list_runs(batch_id=batch_id, limit=None)
        batch = store.get_batch(batch_id)
    assert batch.status == "cancelled"
    assert all(run.status in TERMINAL for run in runs)
    assert {run.status for run in runs} == {"cancelled"}
    assert form._process is not None and form._process.wait(30) is not None


def test_history_filters_pages_and_its_empty_state(project: Path) -> None:
    empty = History(notebook="notebooks/score.ipynb")
    assert "no runs yet" in empty.message.value and empty.table.value == ""
    nb = _notebook(project)
    runner = CliRunner()
    for n in (1, 2, 3):
        assert runner.invoke(main, ["run", str(nb), "-p", "n", str(n)]).exit_code == 0
    assert runner.invoke(main, ["run", str(nb), "-y", "sizes: [1, x]"]).exit_code == 1
    history = History(notebook=nb, page_size=2)
    assert history.total == 4 and len(history.runs) == 2
    assert history.previous_button.disabled and not history.next_button.disabled
    history.show_page(1)
    assert len(history.runs) == 2 and history.next_button.disabled
    failed = History(status="failed")
    assert failed.total == 1 and failed.runs[0].status == "failed"
    history.show_page(0)
    assert ("total", "total") in history.metric.options
    history.metric.value = "total"
    assert bytes(history.chart.value).startswith(
        b"\x89PNG"
    ), "choosing a metric draws it"
    assert history.chart.layout.display == ""
    history.close()


def test_a_folder_without_a_parameters_cell_or_history_gets_one_line(
    project: Path,
) -> None:
    plain = write_notebook(project / "plain.ipynb", None, "x = 1")
    form = RunForm(plain)
    assert "no parameters cell" in form.status.value
    assert not form.fields
    missing = RunForm(project / "missing.ipynb")
    assert "missing.ipynb" in missing.status.value
    assert missing.children == (missing.status,)


def test_the_widgets_in_a_real_kernel_show_views_and_a_click_does_not_block(
    project: Path,
) -> None:
    nb_path = _notebook(project, "import time\ntime.sleep(3)")
    driver = new_notebook(
        cells=[
            new_code_cell(
                "from nbprod.widgets import RunForm, History\n"
                f"form = RunForm({str(nb_path)!r})\n"
                "form"
            ),
            new_code_cell(
                "record = form.run()\n"
                "from nbprod.history.store import HistoryStore\n"
                "with HistoryStore(form.config.database_url) as store:\n"
                "    print('status right after the click:', store.get_run(record.id).status)"
            ),
            new_code_cell(
                "import time\n"
                "while form._poller.running:\n"
                "    time.sleep(0.2)\n"
                "print(form.progress_text.value)\n"
                "History(notebook=form.notebook)"
            ),
        ]
    )
    driver.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(
        driver, timeout=180, resources={"metadata": {"path": str(project)}}
    ).execute()
    views = [
        output
        for cell in driver.cells
        for output in cell.outputs
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]
    assert len(views) == 2, "RunForm and History display as widget views"
    clicked = "".join(o.get("text", "") for o in driver.cells[1].outputs)
    # the run sleeps for 3 s: a click that waited for it would see it succeeded
    assert "status right after the click: " in clicked
    assert "succeeded" not in clicked and "failed" not in clicked
    ended = "".join(o.get("text", "") for o in driver.cells[2].outputs)
    assert "1/1 done" in ended
    nbformat.validate(driver)


def test_monitor_shows_the_drifted_columns_and_pins_a_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.monitor import NOTEBOOK, data, make_project
    from helpers.monitor import History as RecordedRuns

    from nbprod.widgets import Monitor

    monkeypatch.delenv("NBPROD_DATABASE_URL", raising=False)
    monkeypatch.chdir(make_project(tmp_path))
    assert "no succeeded run yet" in Monitor(NOTEBOOK).summary.value
    assert "not a monitored notebook" in Monitor("other.ipynb").summary.value
    runs = RecordedRuns(tmp_path)
    good = {"churn_rate": 0.2, "auc": 0.85}
    first = runs.run(good, data(1))
    runs.check(first)
    last = runs.run({"churn_rate": 0.5, "auc": 0.8}, data(3, shift=1))
    runs.check(last)
    runs.store.close()

    view = Monitor(NOTEBOOK)
    assert view.report.run == last.id and view.report.baseline == first.id
    assert "drifted: " in view.summary.value and "input.tenure" in view.summary.value
    assert "ALERT" in view.checks.value and "churn_rate" in view.checks.value
    assert not view.baseline_button.disabled

    view.use_as_baseline()
    assert f"pinned to run {last.id}" in view.note.value
    with HistoryStore(load_config(tmp_path).database_url) as store:
        from nbprod.history.monitor_store import MonitorStore

        assert MonitorStore(store).pinned_baseline(NOTEBOOK)[0] == last.id
