"""The run history store on a real SQLite file, and run provenance."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbprod.config import load_config
from nbprod.errors import NotFoundError
from nbprod.history.records import BatchRecord, RunErrorInfo, RunRecord, new_id, now
from nbprod.history.store import HistoryStore
from nbprod.run.single import git_state

#: files made by earlier nbprod versions (tests/data/README.md)
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def store(database_url):
    """A new history, on SQLite and on PostgreSQL."""
    history = HistoryStore(database_url)
    yield history
    history.close()


def _run(run_id, **fields):
    base = dict(
        id=run_id,
        notebook="notebooks/train.ipynb",
        parameters={"n": 1},
        created_at=now(),
    )
    base.update(fields)
    return RunRecord(**base)


def _schema_differences(url):
    """What Alembic's autogenerate finds between the database and the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from nbprod.history.models import Base

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_schema_created_by_alembic_matches_the_models(store):
    from sqlalchemy import text

    from nbprod.history.migrate import HEADS, script_heads

    with store.engine.connect() as db:
        if store.engine.dialect.name == "sqlite":
            assert db.execute(text("pragma journal_mode")).scalar() == "wal"
        revisions = set(db.execute(text("select * from alembic_version")).scalars())
        # nbprod 0.1 reads this row, and refuses a version above its own
        assert db.execute(text("select version from nbprod_schema")).scalar() == 2
    # HEADS, the fast path's constant, is what Alembic reads from the revisions
    assert revisions == script_heads() == HEADS
    assert _schema_differences(store.url) == []
    # opening it again changes nothing
    HistoryStore(store.url).close()
    assert _schema_differences(store.url) == []


def test_a_v1_history_is_upgraded_in_place_keeping_its_runs(tmp_path):
    """tests/data/history-v1.db was written by nbprod before Alembic (schema v1)."""
    from nbprod.history.migrate import script_heads

    database = tmp_path / "history.db"
    shutil.copy(DATA / "history-v1.db", database)
    with sqlite3.connect(database) as db:
        names = {r[0] for r in db.execute("select name from sqlite_master")}
        assert "alembic_version" not in names and "nbprod_schema" in names
    history = HistoryStore(f"sqlite:///{database}")
    try:
        assert history.count_runs() == 4
        batch = history.get_batch("b-20261130-120000-aaaaaa")
        assert batch.counts == {"succeeded": 2, "failed": 1} and batch.jobs == 2
        failed = history.get_run("20261130-120000-000002")
        assert failed.parameters == {"n": 2, "pair": (2, 3)}
        assert failed.metrics == {"auc": 0.7, "note": "run 2"}
        assert failed.error == RunErrorInfo(3, "cellid", "ValueError", "bad n")
        assert history.get_job("j-20261130-120000-cccccc").target == batch.id
        # and it takes new runs
        history.add_run(_run(new_id()))
        assert history.count_runs() == 5
    finally:
        history.close()
    with sqlite3.connect(database) as db:
        revisions = {row[0] for row in db.execute("select * from alembic_version")}
    assert revisions == script_heads()
    assert _schema_differences(f"sqlite:///{database}") == []


def test_a_history_upgraded_by_a_newer_nbprod_is_refused(store):
    from sqlalchemy import text

    with store.engine.begin() as db:
        db.execute(text("update alembic_version set version_num = '9999_future'"))
    from nbprod.errors import ConfigError

    with pytest.raises(ConfigError, match=r"newer nbprod .*9999_future"):
        HistoryStore(store.url)


def test_a_damaged_history_is_one_line_naming_the_file(tmp_path):
    from nbprod.errors import ConfigError

    database = tmp_path / "history.db"
    database.write_bytes(b"this is not sqlite\n" * 200)
    with pytest.raises(ConfigError) as caught:
        HistoryStore(f"sqlite:///{database}")
    assert str(database) in caught.value.message
    assert "\n" not in caught.value.message
    assert "move" in caught.value.hint and "aside" in caught.value.hint
    # the CLI prints it as one line plus the hint, no SQL, no traceback
    done = subprocess.run(
        [sys.executable, "-c", "from nbprod.cli import main; main()", "runs"],
        cwd=tmp_path,
        env={**os.environ, "NBPROD_DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and str(database) in lines[0], done.stderr
    assert "Traceback" not in done.stderr


#: a command started three times at once: each waits for the "go" file first,
#: so all three open the new history in the same few milliseconds
_AT_ONCE = """
import sys, time
from pathlib import Path
from nbprod.cli import main
go = Path(sys.argv[1])
Path(sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.002)
main(["runs", "--json"])
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_three_commands_creating_a_new_history_at_once(tmp_path, backend, request):
    for attempt in range(3):
        folder = tmp_path / f"p{attempt}"
        folder.mkdir()
        if backend == "sqlite":
            url = f"sqlite:///{folder / '.nbprod' / 'history.db'}"
        else:
            url = request.getfixturevalue("postgres").new_database()
        go = folder / "go"
        env = {**os.environ, "NBPROD_DATABASE_URL": url}
        ready = [folder / f"ready{n}" for n in range(3)]
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _AT_ONCE, str(go), str(flag)],
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for flag in ready
        ]
        deadline = time.monotonic() + 120
        while not all(flag.exists() for flag in ready):
            assert time.monotonic() < deadline, "the commands did not start"
            time.sleep(0.01)
        go.touch()
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stdout + stderr
            assert json.loads(stdout) == []
        assert _schema_differences(env["NBPROD_DATABASE_URL"]) == []


def test_run_round_trip_with_metrics_error_and_exact_parameters(store):
    params = {"pair": (1, 2), "day": dt.date(2024, 1, 31), "keys": {1: "a"}, "s": {3}}
    run = _run(new_id(), parameters=params, status="running", started_at=now())
    store.add_run(run)
    run.status = "failed"
    run.finished_at = now()
    run.duration = 1.25
    run.error = RunErrorInfo(3, "abc", "ValueError", "bad")
    run.metrics = {"auc": 0.91, "note": "ok", "cm": [[1, 2], [3, 4]]}
    run.git_commit, run.git_dirty = "deadbeef", True
    run.kernel, run.nbprod_version, run.papermill_version = "python3", "0.1.0", "2.7.0"
    store.update_run(run)
    loaded = store.get_run(run.id)
    assert loaded.parameters == params
    assert type(loaded.parameters["pair"]) is tuple
    assert loaded.status == "failed"
    assert loaded.error == RunErrorInfo(3, "abc", "ValueError", "bad")
    assert loaded.metrics == {"auc": 0.91, "note": "ok", "cm": [[1, 2], [3, 4]]}
    assert loaded.git_dirty is True and loaded.duration == 1.25
    assert loaded.started_at.tzinfo is not None
    data = loaded.to_dict()
    assert (
        data["parameters"]["pair"] == [1, 2]
        and data["parameters"]["day"] == "2024-01-31"
    )
    # metrics are replaced, not appended, on a second update
    run.metrics = {"auc": 0.5}
    store.update_run(run)
    assert store.get_run(run.id).metrics == {"auc": 0.5}


def test_get_run_by_prefix_and_not_found(store):
    store.add_run(_run("20240101-000000-aaaaaa"))
    store.add_run(_run("20240101-000000-aaabbb"))
    assert store.get_run("20240101-000000-aaab").id == "20240101-000000-aaabbb"
    with pytest.raises(NotFoundError, match="more than one run"):
        store.get_run("20240101-000000-aaa")
    with pytest.raises(NotFoundError, match="no run"):
        store.get_run("nope")
    with pytest.raises(NotFoundError, match="no batch"):
        store.get_batch("b-nope")


def test_batches_filters_and_cancel(store):
    batch = BatchRecord(
        id="b-1",
        notebook="notebooks/train.ipynb",
        status="running",
        executor="local",
        jobs=2,
        output_dir="runs/train/b-1",
        created_at=now(),
    )
    runs = [_run(f"r{i}", batch_id="b-1", parameters={"n": i}) for i in range(4)]
    store.add_batch(batch, runs)
    store.add_run(_run("single", notebook="notebooks/other.ipynb"))
    runs[0].status = "succeeded"
    store.update_run(runs[0])
    store.set_status(["r1"], "running")
    assert [r.id for r in store.list_runs(batch_id="b-1")] == ["r0", "r1", "r2", "r3"]
    assert {r.id for r in store.list_runs(notebook="other.ipynb")} == {"single"}
    assert {r.id for r in store.list_runs(notebook="notebooks/train.ipynb")} == {
        "r0",
        "r1",
        "r2",
        "r3",
    }
    assert [r.id for r in store.list_runs(status="succeeded")] == ["r0"]
    assert len(store.list_runs(limit=2)) == 2
    assert sorted(store.cancel_unfinished("b-1")) == ["r1", "r2", "r3"]
    store.finish_batch("b-1", "cancelled", now())
    loaded = store.get_batch("b-1")
    assert loaded.counts == {"succeeded": 1, "cancelled": 3}
    assert loaded.total == 4 and loaded.status == "cancelled"
    store.reopen_batch("b-1", ["r2"])
    assert store.get_run("r2").status == "queued"
    assert store.get_batch("b-1").status == "running"


def test_database_url_from_config_and_environment(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod]\ndatabase = "sqlite:///db/h.db"\n'
    )
    monkeypatch.delenv("NBPROD_DATABASE_URL", raising=False)
    config = load_config(tmp_path)
    assert config.database_url == f"sqlite:///{(tmp_path / 'db' / 'h.db').resolve()}"
    other = tmp_path / "other.db"
    monkeypatch.setenv("NBPROD_DATABASE_URL", f"sqlite:///{other}")
    HistoryStore(load_config(tmp_path).database_url).close()
    assert other.is_file()


def test_git_state_commit_and_dirty(tmp_path):
    assert git_state(tmp_path) == git_state(tmp_path)  # no repository: no provenance
    assert git_state(tmp_path).commit is None and git_state(tmp_path).dirty is None
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": "/usr/bin:/bin",
    }

    def git(*args):
        subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, env=env, capture_output=True
        )

    git("init", "-q")
    (tmp_path / "a.txt").write_text("1")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    state = git_state(tmp_path)
    assert state.commit == head and state.dirty is False
    (tmp_path / "untracked.txt").write_text("x")
    assert git_state(tmp_path).dirty is False  # run outputs are untracked files
    (tmp_path / "a.txt").write_text("2")
    assert git_state(tmp_path).dirty is True


def _dead_owner():
    from nbprod.history.owner import process_owner

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = process_owner(child.pid)
    child.wait()
    return owner


def test_work_of_a_dead_or_silent_owner_becomes_interrupted(tmp_path):
    from nbprod.history.owner import Owner, process_owner
    from nbprod.run.recovery import open_history

    (tmp_path / "pyproject.toml").write_text("[tool.nbprod]\n")
    config = load_config(tmp_path)
    stamp = now()

    def batch(batch_id, owner, heartbeat=None):
        record = BatchRecord(
            id=batch_id,
            notebook="nb.ipynb",
            status="running",
            executor="local",
            jobs=1,
            output_dir=f"runs/nb/{batch_id}",
            created_at=stamp,
            owner=owner,
        )
        runs = [_run(f"{batch_id}-r{i}", batch_id=batch_id) for i in range(2)]
        return record, runs

    elsewhere = Owner("another-host.example", os.getpid(), 1.0)
    with open_history(config) as store:
        store.add_batch(*batch("b-dead", _dead_owner()))
        store.add_batch(*batch("b-mine", process_owner()))
        store.add_batch(*batch("b-remote-fresh", elsewhere))
        store.add_batch(*batch("b-remote-silent", elsewhere))
        store.set_status(["b-dead-r0"], "running")
        # another host's pid is never looked up: only the heartbeat's age counts
        from sqlalchemy import update

        from nbprod.history.models import BatchRow

        with store.engine.begin() as connection:
            connection.execute(
                update(BatchRow)
                .where(BatchRow.id == "b-remote-silent")
                .values(heartbeat_at=stamp - dt.timedelta(minutes=10))
            )
    with open_history(config) as store:
        status = {
            b: store.get_batch(b).status
            for b in ("b-dead", "b-mine", "b-remote-fresh", "b-remote-silent")
        }
        assert status == {
            "b-dead": "interrupted",
            "b-mine": "running",
            "b-remote-fresh": "running",
            "b-remote-silent": "interrupted",
        }
        runs = store.list_runs(batch_id="b-dead")
        assert [r.status for r in runs] == ["interrupted", "interrupted"]
        data = store.get_batch("b-dead").to_dict()
        assert data["terminal"] is True
        assert data["resume"] == "nbprod batch --resume b-dead"
