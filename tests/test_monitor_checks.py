"""Checks of runs against their baselines, alert state changes, the webhook, the hook."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from helpers.monitor import MONITOR, NOTEBOOK, History, Receiver, data, make_project

from nbprod.config import load_config
from nbprod.errors import ConfigError
from nbprod.history.monitor_store import MonitorStore
from nbprod.monitor.alerts import SIGNATURE_HEADER, deliver, post_webhook, record_alerts
from nbprod.monitor.hook import monitor_finished_batch
from nbprod.monitor.profile import build_profile


@pytest.fixture
def history(tmp_path):
    h = History(make_project(tmp_path))
    yield h
    h.store.close()


GOOD = {"churn_rate": 0.2, "auc": 0.85}


def by_key(report) -> dict:
    return {c.key: c for c in report.checks}


def test_first_run_is_its_own_baseline_and_a_drifted_run_fails(history):
    first = history.run(GOOD, data(1))
    report = history.check(first)
    assert report.baseline == first.id and report.ok
    assert {c.kind for c in report.checks} == {"metric"}  # no drift against itself
    same = history.check(history.run({"churn_rate": 0.21, "auc": 0.84}, data(2)))
    assert same.ok, [c.to_dict() for c in same.alerts]
    assert same.baseline == first.id and same.baseline_source == "first"
    drifted = history.check(
        history.run({"churn_rate": 0.45, "auc": 0.70}, data(3, shift=1))
    )
    checks = by_key(drifted)
    assert not drifted.ok
    assert not checks["drift:input:tenure"].ok and checks["drift:input:tenure"].alert
    assert checks["drift:input:tenure"].method == "ks"
    assert checks["drift:input:tenure"].threshold == 0.01
    assert not checks["drift:input:calls"].ok and not checks["drift:input:calls"].alert
    assert checks["drift:input:age"].ok and checks["drift:input:plan"].ok
    share = checks["drift:input"]
    assert share.statistic == 0.5 and not share.ok  # 2 of 4 columns
    assert not checks["metric:churn_rate:max"].ok
    assert not checks["metric:auc:min"].ok
    drop = checks["metric:auc:max_drop"]
    assert not drop.ok and drop.statistic == pytest.approx(0.15)
    assert drifted.drifted_columns() == ["input.tenure", "input.calls"]


def test_a_relative_drop_is_measured_in_percent_of_the_baseline(tmp_path):
    history = History(
        make_project(
            tmp_path,
            MONITOR.replace("max_drop = 0.05", "max_drop_pct = 10"),
        )
    )
    first = history.run({"churn_rate": 0.2, "auc": 0.80}, data(1))
    history.check(first)
    small = by_key(
        history.check(history.run({"churn_rate": 0.2, "auc": 0.76}, data(2)))
    )
    drop = small["metric:auc:max_drop_pct"]
    assert drop.ok and drop.statistic == pytest.approx(5.0)
    assert drop.detail == "dropped 5% from 0.8 to 0.76 (at most 10%)"
    large = by_key(
        history.check(history.run({"churn_rate": 0.2, "auc": 0.70}, data(3)))
    )
    assert not large["metric:auc:max_drop_pct"].ok
    assert large["metric:auc:max_drop_pct"].statistic == pytest.approx(12.5)
    history.store.close()


def test_baselines_previous_pinned_and_explicit(tmp_path):
    history = History(
        make_project(
            tmp_path, MONITOR.replace("metrics =", 'baseline = "previous"\nmetrics =')
        )
    )
    a = history.run(GOOD, data(1))
    b = history.run(GOOD, data(2))
    c = history.run(GOOD, data(3))
    assert history.check(c).baseline == b.id
    history.monitor.pin_baseline(NOTEBOOK, a.id)
    report = history.check(c)
    assert (report.baseline, report.baseline_source) == (a.id, "pinned")
    assert history.check(c, baseline=b.id).baseline_source == "option"
    history.store.close()


def test_a_configured_baseline_that_does_not_exist_is_a_config_error(tmp_path):
    history = History(
        make_project(
            tmp_path, MONITOR.replace("metrics =", 'baseline = "nope"\nmetrics =')
        )
    )
    run = history.run(GOOD, data(1))
    with pytest.raises(ConfigError, match="baseline run 'nope'"):
        history.check(run)
    history.store.close()


def test_bad_monitor_config_is_one_clear_line(tmp_path):
    make_project(
        tmp_path, '[tool.nbprod.monitor."a.ipynb"]\nmetrics = { auc = { least = 1 } }\n'
    )
    with pytest.raises(ConfigError, match="unknown bounds: least") as info:
        load_config(tmp_path)
    assert str(info.value.location).endswith("pyproject.toml")


def test_alerts_fire_on_changes_of_state_only_and_resolve(history):
    states = []
    for metrics, profile in [
        (GOOD, data(1)),
        (GOOD, data(2)),
        ({**GOOD, "churn_rate": 0.5}, data(3)),
        ({**GOOD, "churn_rate": 0.6}, data(4)),  # still failing: no new event
        (GOOD, data(5)),
    ]:
        report = history.check(history.run(metrics, profile))
        events = record_alerts(history.config, report, history.monitor, None)
        states.append([(e["event"], e["key"]) for e in events])
    fired = ("fired", "metric:churn_rate:max")
    assert states == [[], [], [fired], [], [("resolved", "metric:churn_rate:max")]]
    stored = history.monitor.list_alerts(notebook="score.ipynb")
    assert [a["event"] for a in stored] == ["fired", "resolved"]
    assert stored[0]["delivery"] == "none"


def test_webhook_is_signed_and_retried_with_backoff():
    receiver = Receiver(fail=2)
    waits: list[float] = []
    try:
        result = post_webhook(
            receiver.url, {"a": 1}, "s3cret", backoff=0.5, sleep=waits.append
        )
    finally:
        receiver.close()
    assert result.ok and result.attempts == 3
    assert waits == [0.5, 1.0]
    headers, body = receiver.requests[-1]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert json.loads(body) == {"a": 1}


def test_webhook_failure_is_recorded_and_never_raises(tmp_path):
    receiver = Receiver(fail=100)
    url = receiver.url
    history = History(
        make_project(tmp_path, f'[tool.nbprod.monitor]\nwebhook = "{url}"\n{MONITOR}')
    )
    try:
        history.check(history.run(GOOD, data(1)))
        report = history.check(history.run({**GOOD, "auc": 0.5}, data(2)))
        events = record_alerts(history.config, report, history.monitor, None)
        assert {e["delivery"] for e in events} == {"pending"}
        result = deliver(
            history.config, events, background=False, retries=1, backoff=0.01
        )
        assert (
            result is not None
            and not result.ok
            and result.error == "HTTP 503 Service Unavailable"
        )
    finally:
        receiver.close()
    stored = history.monitor.list_alerts()
    assert {(a["delivery"], a["attempts"]) for a in stored} == {("failed", 2)}
    history.store.close()


def test_a_batch_sends_one_signed_summary(tmp_path, monkeypatch):
    receiver = Receiver()
    monkeypatch.setenv("HOOK_SECRET", "k")
    history = History(
        make_project(
            tmp_path,
            f'[tool.nbprod.monitor]\nwebhook = "{receiver.url}"\nwebhook_secret_env = "HOOK_SECRET"\n{MONITOR}',
        )
    )
    try:
        history.check(history.run(GOOD, data(1)))
        for i in range(6):  # alternating: 6 state changes in one batch
            metrics = {**GOOD, "churn_rate": 0.9 if i % 2 == 0 else 0.1}
            report = history.check(history.run(metrics, data(10 + i), batch="b-1"))
            record_alerts(history.config, report, history.monitor, "b-1")
        monitor_finished_batch(history.config, history.store, "b-1")
        from nbprod.monitor.alerts import _wait_for_deliveries

        _wait_for_deliveries(10)
    finally:
        receiver.close()
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    summary = json.loads(body)
    assert (
        summary["batch"] == "b-1" and summary["fired"] == 3 and summary["resolved"] == 3
    )
    assert (
        headers[SIGNATURE_HEADER]
        == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    )
    assert {a["delivery"] for a in history.monitor.list_alerts()} == {"delivered"}
    history.store.close()


def test_a_v1_history_gains_the_monitoring_tables_and_keeps_its_runs(tmp_path):
    import shutil
    import sqlite3

    from nbprod.history.store import HistoryStore

    database = tmp_path / "history.db"
    shutil.copy(Path(__file__).parent / "data" / "history-v1.db", database)
    store = HistoryStore(f"sqlite:///{database}")
    try:
        assert store.count_runs() == 4
        run = store.get_run("20261130-120000-000002")
        monitor = MonitorStore(store)
        monitor.save_profiles(
            run.id, {"input": build_profile("input", {"x": [1.0, 2.0]})}
        )
        monitor.save_checks(run.id, run.notebook, None, [])
        assert monitor.get_profiles(run.id)["input"]["rows"] == 2
    finally:
        store.close()
    with sqlite3.connect(database) as db:
        tables = {
            r[0]
            for r in db.execute("select name from sqlite_master where type='table'")
        }
        (revision,) = db.execute("select version_num from alembic_version").fetchone()
    assert {
        "nbprod_profiles",
        "nbprod_checks",
        "nbprod_alerts",
        "nbprod_baselines",
    } <= tables
    assert revision == "0003_monitoring"
