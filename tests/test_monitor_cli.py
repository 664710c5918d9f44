"""``nbprod monitor`` (exit codes, JSON, --set-baseline), the gate's monitor step, real runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from helpers.monitor import NOTEBOOK, History, data, make_project
from helpers.run import write_notebook

from nbprod.cli import main
from nbprod.config import load_config
from nbprod.gate import run_gate
from nbprod.history.monitor_store import MonitorStore
from nbprod.history.store import HistoryStore

GOOD = {"churn_rate": 0.2, "auc": 0.85}


def monitor(root, *args):
    return CliRunner().invoke(main, ["monitor", "--project", str(root), *args])


@pytest.fixture
def drifted(tmp_path):
    history = History(make_project(tmp_path))
    first = history.run(GOOD, data(1))
    history.check(first)
    ok = history.run(GOOD, data(2))
    history.check(ok)
    last = history.run({"churn_rate": 0.5, "auc": 0.8}, data(3, shift=1))
    history.check(last)
    history.store.close()
    return tmp_path, first, ok, last


def test_monitor_json_and_exit_codes(drifted):
    root, first, ok, last = drifted
    result = monitor(root, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert (report["notebook"], report["run"], report["baseline"]) == (
        NOTEBOOK,
        last.id,
        first.id,
    )
    assert report["ok"] is False
    for check in report["checks"]:
        assert {"kind", "profile", "column", "metric", "method", "statistic"} <= set(
            check
        )
        assert {"threshold", "ok"} <= set(check)
    failing = {
        (c["kind"], c["column"] or c["metric"]) for c in report["checks"] if not c["ok"]
    }
    assert ("drift", "tenure") in failing and ("metric", "churn_rate") in failing
    # an earlier run passes; the table names the drifted columns
    assert monitor(root, "--run", ok.id).exit_code == 0
    table = monitor(root, "score.ipynb")
    assert table.exit_code == 1
    assert "drifted columns: input.tenure, input.calls" in table.output
    assert "FAIL" in table.output


def test_monitor_bad_input_is_one_line_and_exit_2(drifted):
    root, *_ = drifted
    for args, expected in [
        (["nope.ipynb"], "'nope.ipynb' is not a monitored notebook"),
        (["--run", "zzz"], "no run with id 'zzz'"),
        (["--baseline", "zzz"], "no run with id 'zzz'"),
    ]:
        result = monitor(root, *args)
        assert result.exit_code == 2, result.output
        assert expected in result.output
        assert "Traceback" not in result.output


def test_set_baseline_pins_and_records_the_time(drifted):
    root, _, ok, last = drifted
    result = monitor(root, "--set-baseline", last.id, "--json")
    assert result.exit_code == 0, result.output
    pinned = json.loads(result.output)
    assert pinned["run"] == last.id and pinned["set_at"]
    store = HistoryStore(load_config(root).database_url)
    try:
        assert MonitorStore(store).pinned_baseline(NOTEBOOK)[0] == last.id
    finally:
        store.close()
    again = monitor(root, "--run", ok.id, "--baseline", last.id, "--json")
    assert json.loads(again.output)["baseline"] == last.id


def test_gate_monitor_step_fails_on_an_alert_and_can_be_skipped(drifted):
    root, *_ = drifted
    config = load_config(root)
    report = run_gate(config, only=("monitor",))
    step = report.steps[0]
    assert step.name == "monitor" and step.status == "failed"
    assert any("drift of input.tenure" in f.message for f in step.findings)
    skipped = run_gate(config, only=("sync", "monitor"), skip=("monitor",))
    assert [s.name for s in skipped.steps] == ["sync"]


SCORE = """\
import numpy as np
import nbprod
rng = np.random.default_rng(seed)
n = 300
data = {
    "tenure": rng.normal(24 + 10 * drift, 10, n),
    "calls": rng.poisson(2 + 3 * drift, n).astype(float),
    "plan": rng.permutation(np.repeat(["basic", "plus", "pro"], n // 3)),
}
nbprod.profile("input", data)
nbprod.record("churn_rate", 0.2 + 0.3 * drift)
"""


@pytest.mark.slow
def test_real_runs_and_a_batch_are_checked_as_they_end(tmp_path):
    make_project(tmp_path, "")
    write_notebook(tmp_path / NOTEBOOK, "seed = 0\ndrift = 0.0", SCORE)
    cli = CliRunner()
    for seed, drift in ((1, 0.0), (2, 1.0)):
        result = cli.invoke(
            main,
            [
                "run",
                str(tmp_path / NOTEBOOK),
                "-p",
                "seed",
                str(seed),
                "-p",
                "drift",
                str(drift),
            ],
        )
        assert result.exit_code == 0, result.output  # monitoring never fails a run
    result = monitor(tmp_path, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    drifted = {c["column"] for c in report["checks"] if c["column"] and not c["ok"]}
    assert drifted == {"tenure", "calls"}
    grid = tmp_path / "grid.yaml"
    grid.write_text("seed: [3, 4]\ndrift: [0.0]\n")
    result = cli.invoke(
        main, ["batch", str(tmp_path / NOTEBOOK), "--grid", str(grid), "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    store = HistoryStore(load_config(tmp_path).database_url)
    try:
        monitor_store = MonitorStore(store)
        runs = store.list_runs(limit=None)
        assert len(runs) == 4
        # every run but the first (its own baseline) was checked as it ended
        assert all(monitor_store.get_checks(r.id) for r in runs[:-1])
        events = monitor_store.list_alerts()
    finally:
        store.close()
    assert [e["event"] for e in events] == ["fired", "resolved"]
    assert events[1]["batch"] is not None
    assert monitor(tmp_path).exit_code == 0
