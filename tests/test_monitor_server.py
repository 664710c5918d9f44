"""The monitoring routes against a real Jupyter server (pytest-jupyter's jp_fetch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.monitor import NOTEBOOK, History, data, make_project
from tornado.httpclient import HTTPClientError

from nbprod.monitor.alerts import record_alerts

GOOD = {"churn_rate": 0.2, "auc": 0.85}


@pytest.fixture
def runs(jp_root_dir: Path) -> dict:
    history = History(make_project(jp_root_dir))
    ids = {}
    for name, metrics, profile in [
        ("first", GOOD, data(1)),
        ("ok", GOOD, data(2)),
        ("drifted", {"churn_rate": 0.5, "auc": 0.8}, data(3, shift=1)),
    ]:
        record = history.run(metrics, profile)
        report = history.check(record)
        record_alerts(history.config, report, history.monitor, None)
        ids[name] = record.id
    history.store.close()
    return ids


@pytest.fixture
def jp_server_config(runs: dict) -> dict:
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbprod": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        }
    }


async def get(jp_fetch, *parts: str, **params: str) -> dict:
    response = await jp_fetch("nbprod", "api", *parts, params=params)
    return json.loads(response.body)


async def test_monitor_reports_state_and_the_drifted_column(jp_fetch, runs) -> None:
    listing = await get(jp_fetch, "monitor")
    [entry] = listing["notebooks"]
    assert entry["notebook"] == NOTEBOOK and entry["run"] == runs["drifted"]
    assert entry["ok"] is False and entry["state"]["state"] == "alert"
    assert entry["state"]["since"]
    one = await get(jp_fetch, "monitor", notebook="score.ipynb")
    assert {c["key"] for c in one["checks"]} == {c["key"] for c in entry["checks"]}
    checks = await get(
        jp_fetch, "monitor", "checks", notebook=NOTEBOOK, name="drift:input:tenure"
    )
    assert [p["run"] for p in checks["series"]] == [runs["ok"], runs["drifted"]]
    assert [p["ok"] for p in checks["series"]] == [True, False]
    shown = checks["distribution"]
    assert shown["kind"] == "numeric" and len(shown["edges"]) == 21
    assert sum(shown["baseline"]) == pytest.approx(1) and sum(
        shown["current"]
    ) == pytest.approx(1)
    plan = await get(
        jp_fetch, "monitor", "checks", notebook=NOTEBOOK, name="drift:input:plan"
    )
    assert (
        plan["distribution"]["labels"][:3]
        and plan["distribution"]["kind"] == "categorical"
    )


async def test_alerts_since_and_per_run(jp_fetch, runs) -> None:
    everything = (await get(jp_fetch, "alerts"))["alerts"]
    assert everything and {a["run"] for a in everything} == {runs["drifted"]}
    assert all(a["event"] == "fired" for a in everything)
    later = await get(jp_fetch, "alerts", since=everything[-1]["created_at"])
    assert later["alerts"] == []
    assert (await get(jp_fetch, "alerts", run=runs["ok"]))["alerts"] == []
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("nbprod", "api", "alerts", params={"since": "yesterday"})
    assert caught.value.code == 400


async def test_pin_a_baseline(jp_fetch, runs) -> None:
    response = await jp_fetch(
        "nbprod",
        "api",
        "monitor",
        "baseline",
        method="POST",
        body=json.dumps({"notebook": NOTEBOOK, "run": runs["drifted"]}),
    )
    pinned = json.loads(response.body)
    assert pinned["run"] == runs["drifted"] and pinned["set_at"]
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(
            "nbprod",
            "api",
            "monitor",
            "baseline",
            method="POST",
            body=json.dumps({"notebook": NOTEBOOK, "run": "nope"}),
        )
    assert caught.value.code == 404
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("nbprod", "api", "monitor", params={"notebook": "other.ipynb"})
    assert caught.value.code == 404
