"""The REST API against a real Jupyter server (pytest-jupyter), with token auth enforced."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import nbformat
import pytest
from helpers.ship import git
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from tornado.httpclient import HTTPClientError

from nbprod.server.handlers import routes

pytestmark = pytest.mark.filterwarnings(
    "error::jupyter_server.utils.JupyterServerAuthWarning"
)

PYPROJECT = (
    '[project]\nname = "shop"\n\n[tool.nbprod]\npackage = "shop"\nsource = "src"\n'
)


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    return cell


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_markdown_cell("# Shop\n\nPrices."), *cells])


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    (jp_root_dir / "pyproject.toml").write_text(PYPROJECT)
    folder = jp_root_dir / "notebooks"
    folder.mkdir()
    nbformat.write(
        notebook(
            code("import math"),
            code("n = 3", "parameters"),
            code("def area(r):\n    return math.pi * r * r", "export"),
            code("assert round(area(1), 2) == 3.14", "test"),
        ),
        folder / "prices.ipynb",
    )
    return jp_root_dir


@pytest.fixture
def jp_server_config(project: Path, request: pytest.FixtureRequest) -> dict:
    config: dict = {
        "ServerApp": {
            # the terminals extension trips the auth warning this suite turns into errors
            "jpserver_extensions": {"nbprod": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        }
    }
    if getattr(request, "param", None) == "settings":
        url = f"sqlite:///{project.parent / 'elsewhere' / 'history.db'}"
        config["NbprodApp"] = {"database_url": url, "default_jobs": 1}
    if getattr(request, "param", None) == "unreachable-dask":
        # nothing listens on port 9: the worker's executor cannot start
        config["NbprodApp"] = {"dask_scheduler": "tcp://127.0.0.1:9"}
    return config


async def fetch_json(jp_fetch, *parts: str, **kwargs) -> dict:
    response = await jp_fetch("nbprod", "api", *parts, **kwargs)
    return json.loads(response.body)


async def error_of(jp_fetch, *parts: str, **kwargs) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("nbprod", "api", *parts, **kwargs)
    response = caught.value.response
    return caught.value.code, (
        json.loads(response.body) if response and response.body else {}
    )


async def test_plan_of_a_saved_notebook(jp_fetch, project: Path) -> None:
    plan = await fetch_json(jp_fetch, "notebooks", "notebooks/prices.ipynb", "plan")
    assert plan["module"] == "shop.prices"
    assert plan["ok"] is True
    assert [c["role"] for c in plan["cells"]] == [
        "none",
        "parameters",
        "export",
        "test",
    ]
    files = {f["path"]: f for f in plan["files"]}
    assert "def area(r):" in files["src/shop/prices.py"]["content"]
    assert files["tests/test_prices.py"]["kind"] == "tests"
    assert not (project / "src").exists()  # planning writes nothing


async def test_plan_of_unsaved_content_reports_hidden_state(jp_fetch) -> None:
    content = notebook(
        code("rate = 2"), code("def f(x):\n    return x * rate", "export")
    )
    plan = await fetch_json(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "plan",
        method="POST",
        body=json.dumps({"content": content}),
    )
    assert plan["ok"] is False
    [problem] = plan["problems"]
    assert problem["severity"] == "error"
    assert problem["location"]["cell"] == 2 and problem["location"]["line"] == 2
    assert problem["location"]["cell_id"] == content.cells[2].id
    assert "`rate` is used here but defined only in cell 2" in problem["message"]
    assert plan["files"] == []


async def test_export_writes_and_refuses_hand_edits(jp_fetch, project: Path) -> None:
    result = await fetch_json(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "export",
        method="POST",
        body="{}",
    )
    assert result["ok"] is True
    statuses = {f["path"]: f["status"] for f in result["notebooks"][0]["files"]}
    assert statuses["src/shop/prices.py"] == "written"
    module = project / "src/shop/prices.py"
    module.write_text(module.read_text() + "# mine\n")
    nb = nbformat.read(project / "notebooks/prices.ipynb", 4)
    nb.cells[3].source += "\n\nRADIUS = 1"
    nbformat.write(nb, project / "notebooks/prices.ipynb")
    status, body = await error_of(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "export",
        method="POST",
        body="{}",
    )
    assert status == 409
    assert body["error"]["files"] == ["src/shop/prices.py"]
    assert body["error"]["type"] == "hand_edited"
    assert body["error"]["actions"] == ["sync", "force_export"]
    assert module.read_text().endswith("# mine\n")
    result = await fetch_json(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "export",
        method="POST",
        body=json.dumps({"force": True}),
    )
    assert "RADIUS = 1" in module.read_text()


def sample_url(pattern: str) -> list[str]:
    """A concrete path for a route pattern, split into parts for jp_fetch."""
    path = re.sub(r"\(\?P<path>[^)]*\)", "notebooks/prices.ipynb", pattern)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "x1", path)
    return path.strip("/").split("/")


async def test_every_route_refuses_requests_without_a_token(jp_fetch) -> None:
    checked = 0
    for pattern, handler in routes():
        for method in ("get", "post", "delete"):
            if method not in vars(handler):
                continue
            with pytest.raises(HTTPClientError) as caught:
                await jp_fetch(
                    *sample_url(pattern),
                    method=method.upper(),
                    body="{}" if method == "post" else None,
                    headers={"Authorization": ""},
                )
            assert caught.value.code == 403, (pattern, method)
            checked += 1
    assert checked >= len(routes())


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("notebooks/../../outside.ipynb", 400),
        ("escape/secret.ipynb", 403),
        ("missing.ipynb", 404),
    ],
)
async def test_paths_that_leave_the_root_are_refused(
    jp_fetch, project: Path, tmp_path: Path, path: str, status: int
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    nbformat.write(notebook(code("A = 1", "export")), outside / "secret.ipynb")
    link = project / "escape"
    if not link.exists():
        link.symlink_to(outside, target_is_directory=True)
    code_, body = await error_of(
        jp_fetch, "notebooks", path, "export", method="POST", body="{}"
    )
    assert code_ == status
    assert body["error"]["message"]
    assert not (project / "src").exists() and not (outside / "src").exists()


async def test_an_absolute_path_is_refused(
    http_server_client, jp_auth_header, jp_base_url, project: Path
) -> None:
    # %2F keeps the leading slash through URL routing: the handler sees "/etc/…"
    url = f"{jp_base_url}nbprod/api/notebooks/%2Fetc%2Fhosts.ipynb/export"
    with pytest.raises(HTTPClientError) as caught:
        await http_server_client.fetch(
            url, method="POST", body="{}", headers=jp_auth_header
        )
    assert caught.value.code == 400
    assert (
        "absolute paths are not allowed"
        in json.loads(caught.value.response.body)["error"]["message"]
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "the request body is not valid JSON"),
        ("[1, 2]", "the request body must be a JSON object"),
        ('{"force": "yes"}', "field 'force' must be true or false, not str"),
    ],
)
async def test_malformed_bodies_are_400_with_a_message(
    jp_fetch, body: str, message: str
) -> None:
    status, reply = await error_of(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "export",
        method="POST",
        body=body,
    )
    assert status == 400
    assert message in reply["error"]["message"]
    assert "Traceback" not in json.dumps(reply)


async def test_concurrent_plans_of_a_large_notebook(jp_fetch, project: Path) -> None:
    cells = [code("import math")]
    for number in range(199):
        if number % 3 == 2:
            cells.append(code(f"x{number} = {number}\nx{number} * 2"))
        else:
            cells.append(
                code(f"def f{number}(r):\n    return math.sqrt(r) + {number}", "export")
            )
    nbformat.write(new_notebook(cells=cells), project / "notebooks" / "big.ipynb")
    replies = await asyncio.gather(
        *[
            fetch_json(jp_fetch, "notebooks", "notebooks/big.ipynb", "plan")
            for _ in range(20)
        ]
    )
    assert all(reply["ok"] for reply in replies)
    assert len({json.dumps(reply, sort_keys=True) for reply in replies}) == 1


# -- parameters, runs, batches, jobs: real kernels in the server's worker processes


def write_scoring_notebook(project: Path) -> None:
    nbformat.write(
        notebook(
            code("offset = 1  # added to every score\nlabel = 'a'", "parameters"),
            code(
                "import nbprod\nnbprod.record('score', offset * 10)\nassert offset != 99"
            ),
        ),
        project / "notebooks" / "score.ipynb",
    )


async def poll(jp_fetch, *parts: str, until, timeout: float = 180) -> dict:
    """Fetch a resource until ``until(data)`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        data = await fetch_json(jp_fetch, *parts)
        if until(data):
            return data
        assert loop.time() < deadline, f"gave up waiting: {data}"
        await asyncio.sleep(0.3)


async def until_done(
    jp_fetch, *parts: str, key=lambda data: data, timeout: float = 180
) -> dict:
    """Poll a resource until its status is final."""
    final = lambda data: key(data)["status"] not in ("queued", "running")  # noqa: E731
    return await poll(jp_fetch, *parts, until=final, timeout=timeout)


async def test_parameters_of_a_notebook(jp_fetch, project: Path) -> None:
    write_scoring_notebook(project)
    data = await fetch_json(
        jp_fetch, "notebooks", "notebooks/score.ipynb", "parameters"
    )
    assert data["notebook"] == "notebooks/score.ipynb"
    assert data["cell"]["index"] == 1
    assert [
        (p["name"], p["default"], p["type"], p["comment"]) for p in data["parameters"]
    ] == [
        ("offset", 1, "int", "added to every score"),
        ("label", "a", "str", None),
    ]


async def test_a_run_over_http_is_recorded_with_its_metrics(
    jp_fetch, project: Path
) -> None:
    write_scoring_notebook(project)
    started = await fetch_json(
        jp_fetch,
        "runs",
        method="POST",
        body=json.dumps(
            {"notebook": "notebooks/score.ipynb", "parameters": {"offset": 4}}
        ),
    )
    run_id = started["run"]["id"]
    assert started["run"]["status"] == "queued"
    run = await until_done(jp_fetch, "runs", run_id)
    assert run["status"] == "succeeded", run["error"]
    assert run["parameters"] == {"offset": 4}
    assert run["metrics"] == {"score": 40}
    assert run["output_file"] == f"runs/score/{run_id}.ipynb"
    assert (project / run["output_file"]).is_file()
    listed = await fetch_json(jp_fetch, "runs", params={"notebook": "score.ipynb"})
    assert listed["total"] == 1 and listed["runs"][0]["id"] == run_id


async def eventually(value, what: str, timeout: float = 60):
    """Wait until ``value()`` is truthy (something the server starts in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not value():
        assert loop.time() < deadline, what
        await asyncio.sleep(0.05)


async def warmed_template(jp_fetch, jp_serverapp, project: Path) -> tuple:
    """The server's template for the scoring notebook, once ready, and its ping."""
    write_scoring_notebook(project)
    # the panel asks for the plan when it shows the notebook: that warms it
    await fetch_json(jp_fetch, "notebooks", "notebooks/score.ipynb", "plan")
    warm = jp_serverapp.web_app.settings["nbprod"].warm
    await eventually(warm.templates, "no warm template was started")
    [template] = warm.templates()
    return template, await asyncio.to_thread(template.wait_ready)


async def score_run(jp_fetch) -> tuple[dict, dict]:
    """Start a run of the scoring notebook; the reply and the finished run."""
    started = await fetch_json(
        jp_fetch,
        "runs",
        method="POST",
        body=json.dumps({"notebook": "notebooks/score.ipynb"}),
    )
    return started, await until_done(jp_fetch, "runs", started["run"]["id"])


async def test_a_run_forks_its_kernel_from_the_servers_warm_template(
    jp_fetch, jp_serverapp, project: Path
) -> None:
    template, info = await warmed_template(jp_fetch, jp_serverapp, project)
    assert info["refusal"] is None and "IPython" in info["preloaded"]
    _, run = await score_run(jp_fetch)
    assert run["status"] == "succeeded", run["error"]
    assert run["metrics"] == {"score": 10}
    # the job worker forked the run's kernel from the server's template
    assert (await asyncio.to_thread(template.ping))["forks"] == 1


async def test_runs_in_a_terminal_beside_the_server_fork_from_its_template(
    jp_fetch, jp_serverapp, project: Path
) -> None:
    import os
    import subprocess
    import sys

    template, _ = await warmed_template(jp_fetch, jp_serverapp, project)
    warm = jp_serverapp.web_app.settings["nbprod"].warm
    announced = json.loads((project / ".nbprod" / "warm-templates.json").read_text())
    assert announced == {"folder": warm.folder, "pid": os.getpid()}
    (project / "grid.yaml").write_text("offset: [2, 3]\n")
    env = {k: v for k, v in os.environ.items() if k != "NBPROD_WARM_TEMPLATES"}
    cli = [sys.executable, "-c", "from nbprod.cli import main; main()"]
    for args in (
        ["run", "notebooks/score.ipynb", "--json"],
        ["batch", "notebooks/score.ipynb", "--grid", "grid.yaml", "--json"],
    ):
        done = await asyncio.to_thread(
            subprocess.run,
            [*cli, *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
    # one kernel for the run, two for the batch: all forks of the server's template
    assert (await asyncio.to_thread(template.ping))["forks"] == 3
    listed = await fetch_json(jp_fetch, "runs")
    assert sorted(r["metrics"]["score"] for r in listed["runs"]) == [10, 20, 30]
    warm.stop()
    assert not (project / ".nbprod" / "warm-templates.json").exists()


async def test_a_spare_worker_takes_the_next_job(
    jp_fetch, jp_serverapp, project: Path
) -> None:
    write_scoring_notebook(project)
    await fetch_json(jp_fetch, "notebooks", "notebooks/score.ipynb", "plan")
    jobs = jp_serverapp.web_app.settings["nbprod"].jobs
    await eventually(lambda: jobs._spare, "no spare worker was started")
    spare = jobs._spare.pid
    started, run = await score_run(jp_fetch)
    assert run["status"] == "succeeded", run["error"]
    # the spare had done its imports: it ran the job, and another one waits
    assert jobs.store.get_job(started["job"]).pid == spare
    await eventually(lambda: jobs._spare, "no new spare worker")
    assert jobs._spare.pid != spare


async def test_bad_parameters_are_refused_before_any_run(
    jp_fetch, project: Path
) -> None:
    write_scoring_notebook(project)
    status, body = await error_of(
        jp_fetch,
        "runs",
        method="POST",
        body=json.dumps(
            {"notebook": "notebooks/score.ipynb", "parameters": {"ofset": 4}}
        ),
    )
    assert status == 422
    assert "unknown parameter 'ofset'" in body["error"]["message"]
    assert (await fetch_json(jp_fetch, "runs"))["total"] == 0
    status, body = await error_of(
        jp_fetch, "runs", method="POST", body=json.dumps({"notebook": 3})
    )
    assert (
        status == 400
        and "field 'notebook' must be a string" in body["error"]["message"]
    )


async def test_a_batch_over_http_runs_to_the_end(jp_fetch, project: Path) -> None:
    write_scoring_notebook(project)
    started = await fetch_json(
        jp_fetch,
        "batches",
        method="POST",
        body=json.dumps(
            {
                "notebook": "notebooks/score.ipynb",
                "grid": {"offset": [1, 2, 99]},
                "jobs": 2,
            }
        ),
    )
    batch_id = started["batch"]["id"]
    assert [r["status"] for r in started["runs"]] == ["queued"] * 3
    done = await until_done(jp_fetch, "batches", batch_id, key=lambda d: d["batch"])
    assert done["batch"]["counts"] == {"succeeded": 2, "failed": 1}
    assert [r["metrics"].get("score") for r in done["runs"]] == [10, 20, 990]
    assert done["runs"][2]["error"]["ename"] == "AssertionError"
    listed = await fetch_json(
        jp_fetch, "runs", params={"batch": batch_id, "limit": "2"}
    )
    assert listed["total"] == 3 and len(listed["runs"]) == 2


async def test_cancel_a_batch(jp_fetch, project: Path) -> None:
    nbformat.write(
        notebook(
            code("pause = 0", "parameters"), code("import time\ntime.sleep(pause)")
        ),
        project / "notebooks" / "slow.ipynb",
    )
    started = await fetch_json(
        jp_fetch,
        "batches",
        method="POST",
        body=json.dumps(
            {
                "notebook": "notebooks/slow.ipynb",
                "grid": {"pause": [60, 60, 60]},
                "jobs": 1,
            }
        ),
    )
    batch_id = started["batch"]["id"]
    await poll(
        jp_fetch,
        "batches",
        batch_id,
        until=lambda d: any(r["status"] == "running" for r in d["runs"]),
    )
    cancelled = await fetch_json(jp_fetch, "batches", batch_id, method="DELETE")
    assert cancelled["batch"]["id"] == batch_id
    done = await until_done(
        jp_fetch, "batches", batch_id, key=lambda d: d["batch"], timeout=60
    )
    assert done["batch"]["status"] == "cancelled"
    assert {r["status"] for r in done["runs"]} == {"cancelled"}, [
        (r["status"], r["error"]) for r in done["runs"]
    ]
    status, body = await error_of(jp_fetch, "batches", batch_id, method="DELETE")
    assert status == 409 and "not running under this server" in body["error"]["message"]


async def test_unknown_ids_are_404(jp_fetch) -> None:
    for parts in (("runs", "nope"), ("batches", "nope"), ("jobs", "nope")):
        status, body = await error_of(jp_fetch, *parts)
        assert status == 404, parts
        assert "nope" in body["error"]["message"]


@pytest.fixture
def repository(project: Path, tmp_path: Path) -> Path:
    """The project as a git repository with a local bare `origin`."""
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "--bare", "-b", "main", str(remote))
    git(project, "init", "-b", "main")
    git(project, "config", "user.name", "Data Scientist")
    git(project, "config", "user.email", "ds@example.com")
    git(project, "remote", "add", "origin", str(remote))
    (project / ".gitignore").write_text(".nbprod/\nruns/\n")
    git(project, "add", "-A")
    git(project, "commit", "-m", "start")
    git(project, "push", "-u", "origin", "main")
    return remote


async def test_gate_and_push_as_jobs(jp_fetch, project: Path, repository: Path) -> None:
    status = await fetch_json(jp_fetch, "git", "status")
    assert (
        status["branch"] == "main" and status["ahead"] == 0 and status["changed"] == []
    )
    started = await fetch_json(
        jp_fetch, "gate", method="POST", body=json.dumps({"skip": ["smoke"]})
    )
    job = await until_done(jp_fetch, "jobs", started["job"]["id"])
    # nothing exported yet: the sync step fails, and says which files are stale
    assert job["kind"] == "gate" and job["status"] == "failed"
    steps = {s["name"]: s["status"] for s in job["steps"]}
    assert steps["sync"] == "failed" and "smoke" not in steps
    assert job["result"]["steps"][0]["findings"]
    head = git(repository, "rev-parse", "main")
    started = await fetch_json(
        jp_fetch, "push", method="POST", body=json.dumps({"message": "Add area"})
    )
    job = await until_done(jp_fetch, "jobs", started["job"]["id"])
    assert job["status"] == "succeeded", json.dumps(
        job["error"] or job["result"], indent=1
    )[:3000]
    assert job["result"]["pushed"] is True
    assert git(repository, "rev-parse", "main") != head
    log = git(repository, "log", "-1", "--format=%B", "main")
    assert log.startswith("Add area") and "Nbprod-Gate: passed" in log
    assert "src/shop/prices.py" in git(
        repository, "ls-tree", "-r", "--name-only", "main"
    )


async def test_push_needs_a_message(jp_fetch) -> None:
    status, body = await error_of(
        jp_fetch, "push", method="POST", body='{"message": "  "}'
    )
    assert status == 400 and "must not be empty" in body["error"]["message"]


def test_a_restarted_server_marks_work_whose_worker_is_gone_interrupted(
    project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on SQLite and on a team's PostgreSQL
    monkeypatch.setenv("NBPROD_DATABASE_URL", database_url)
    import logging
    import subprocess
    import sys

    from nbprod.config import load_config
    from nbprod.history.records import JobRecord, now
    from nbprod.run.single import queue_run
    from nbprod.server.jobs import JobManager

    write_scoring_notebook(project)
    config = load_config(project)
    manager = JobManager(config, logging.getLogger("test"))
    run = queue_run(config, project / "notebooks/score.ipynb", {}, store=manager.store)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
    )
    manager.store.add_job(
        JobRecord(
            "j-1",
            "run",
            "running",
            {},
            target=run.id,
            pid=int(gone.stdout),
            created_at=now(),
        )
    )
    assert manager.recover() == ["j-1"]
    job = manager.store.get_job("j-1")
    assert job.status == "cancelled" and job.error["message"].startswith(
        "interrupted: the Jupyter server stopped"
    )
    run = manager.store.get_run(run.id)
    assert run.status == "interrupted" and run.error.ename == "Interrupted"
    assert manager.recover() == []
    manager.store.close()


@pytest.mark.parametrize(
    "jp_server_config",
    [pytest.param("settings", id="traitlets")],
    indirect=True,
)
async def test_server_settings_reach_the_core(jp_fetch, project: Path) -> None:
    data = await fetch_json(jp_fetch, "runs")
    assert data == {"runs": [], "total": 0}
    assert (project.parent / "elsewhere" / "history.db").is_file()
    assert not (project / ".nbprod" / "history.db").exists()


# -- reliability: traversal in URLs, concurrent exports, a burst of plans


@pytest.mark.parametrize(
    ("tail", "method"),
    [
        ("runs/%2e%2e", "GET"),
        ("runs/..%2f..%2fetc%2fpasswd", "GET"),
        ("batches/%2e%2e%2fx", "DELETE"),
        ("jobs/..", "GET"),
        ("notebooks/%2e%2e/plan", "GET"),
        ("notebooks/../../../etc/passwd", "POST"),
        ("notebooks/%2e%2e%2f%2e%2e%2fouting.ipynb/export", "POST"),
        ("%2Fetc%2Fpasswd", "GET"),
        ("notebooks/x.ipynb%00/plan", "GET"),
    ],
)
async def test_traversal_in_any_url_is_the_json_400(
    http_server_client, jp_auth_header, jp_base_url, tail: str, method: str
) -> None:
    # the raw URL, as a client sends it (jp_fetch would quote the '%')
    response = await http_server_client.fetch(
        f"{jp_base_url}nbprod/api/{tail}",
        method=method,
        body="{}" if method == "POST" else None,
        headers=jp_auth_header,
        raise_error=False,
    )
    assert response.code == 400, response.body[:200]
    assert response.headers["Content-Type"].startswith("application/json")
    error = json.loads(response.body)["error"]
    assert error["type"] == "bad_request"
    assert "not allowed" in error["message"]


async def test_an_unknown_route_is_a_json_404(jp_fetch) -> None:
    code_, body = await error_of(jp_fetch, "runs", "not", "a", "route")
    assert code_ == 404
    assert body["error"]["message"] == "no such route: GET /nbprod/api/runs/not/a/route"


async def test_concurrent_export_requests_then_an_edit(jp_fetch, project: Path) -> None:
    """ "Export on save" with Save All: several export requests at once, then edits."""
    names = [f"part{i}" for i in range(4)]

    def write(version: int) -> None:
        for name in names:
            nbformat.write(
                notebook(
                    code(f"def {name}():\n    return {version}", "export"),
                    code(f"assert {name}() == {version}", "test"),
                ),
                project / "notebooks" / f"{name}.ipynb",
            )

    async def export_all() -> list[dict]:
        return await asyncio.gather(
            *[
                fetch_json(
                    jp_fetch,
                    "notebooks",
                    f"notebooks/{name}.ipynb",
                    "export",
                    method="POST",
                    body="{}",
                )
                for name in names
            ]
        )

    for version in range(3):
        write(version)
        replies = await export_all()
        assert all(reply["ok"] for reply in replies)
    manifest = json.loads((project / ".nbprod" / "export.json").read_text())
    assert {f"notebooks/{name}.ipynb" for name in names} <= set(manifest["notebooks"])


async def test_jupyter_answers_while_thirty_plans_are_in_flight(
    http_server_client, jp_auth_header, jp_base_url, project: Path
) -> None:
    """The plans run in worker processes: Jupyter's own API is answered meanwhile
    (the time it takes is measured in benchmarks/bench_api.py, not here)."""
    import psutil
    from tornado.simple_httpclient import SimpleAsyncHTTPClient

    cells = [code("import math")]
    for number in range(12):
        cells.append(
            code(f"def f{number}(r):\n    return math.sqrt(r) + {number}", "export")
        )
    # a client that really sends thirty requests at once (the default: ten)
    client = SimpleAsyncHTTPClient(force_instance=True, max_clients=40)
    url = http_server_client.get_url(f"{jp_base_url}nbprod/api/notebooks/")

    async def plan(number: int) -> dict:
        # each one different, so none is answered from the cache
        content = notebook(*cells, code(f"LAST = {number}", "export"))
        response = await client.fetch(
            f"{url}notebooks/big.ipynb/plan",
            method="POST",
            body=json.dumps({"content": content}),
            headers=jp_auth_header,
            # a loaded CI machine may take longer than the default 20 s
            request_timeout=300,
            connect_timeout=300,
        )
        return json.loads(response.body)

    try:
        plans = [asyncio.ensure_future(plan(n)) for n in range(30)]
        await asyncio.sleep(0)  # every request on its way
        status = await client.fetch(
            http_server_client.get_url(f"{jp_base_url}api/status"),
            headers=jp_auth_header,
            request_timeout=300,
        )
        in_flight = sum(not p.done() for p in plans)
        workers = [
            child
            for child in psutil.Process().children(recursive=True)
            if "multiprocessing" in " ".join(child.cmdline())
        ]
        replies = await asyncio.gather(*plans)
    finally:
        client.close()

    assert status.code == 200 and json.loads(status.body)["started"]
    assert in_flight > 0, "Jupyter answered only after every plan was done"
    assert workers, "the plans ran in the server's own process"
    assert [r["files"][0]["content"].count("def f") for r in replies] == [12] * 30
    assert all(f"LAST = {n}" in r["files"][0]["content"] for n, r in enumerate(replies))


async def test_a_batch_its_worker_could_not_start_is_refused_before_202(
    jp_fetch, project: Path
) -> None:
    write_scoring_notebook(project)

    def body(**extra):
        return json.dumps(
            {"notebook": "notebooks/score.ipynb", "grid": {"offset": [1]}, **extra}
        )

    status, data = await error_of(
        jp_fetch, "batches", method="POST", body=body(executor="nope")
    )
    assert status == 400 and data["error"]["type"] == "bad_request"
    assert "unknown executor 'nope'" in data["error"]["message"]
    assert "local" in data["error"]["hint"] and "dask" in data["error"]["hint"]
    status, data = await error_of(
        jp_fetch, "batches", method="POST", body=body(executor="dask")
    )
    assert status == 422 and "needs a scheduler" in data["error"]["message"]
    assert "dask_scheduler" in data["error"]["hint"]
    status, data = await error_of(
        jp_fetch, "gate", method="POST", body=json.dumps({"only": ["nope"]})
    )
    assert status == 400 and "nope" in data["error"]["message"]
    # nothing was queued, so nothing can be stuck
    assert (await fetch_json(jp_fetch, "runs"))["total"] == 0


@pytest.mark.parametrize(
    "jp_server_config",
    [pytest.param("unreachable-dask", id="unreachable-dask")],
    indirect=True,
)
async def test_a_batch_whose_worker_fails_before_any_run_ends_failed(
    jp_fetch, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "1s")
    write_scoring_notebook(project)
    started = await fetch_json(
        jp_fetch,
        "batches",
        method="POST",
        body=json.dumps(
            {
                "notebook": "notebooks/score.ipynb",
                "grid": {"offset": [1, 2]},
                "executor": "dask",
            }
        ),
    )
    batch_id = started["batch"]["id"]
    done = await until_done(jp_fetch, "batches", batch_id, key=lambda d: d["batch"])
    assert done["batch"]["status"] == "failed" and done["batch"]["terminal"]
    assert {r["status"] for r in done["runs"]} == {"cancelled"}
    job = await fetch_json(jp_fetch, "jobs", started["job"])
    assert job["status"] == "failed"
    assert "cannot reach the Dask scheduler" in job["error"]["message"]
    status, data = await error_of(jp_fetch, "batches", batch_id, method="DELETE")
    assert status == 409 and "it failed" in data["error"]["message"]


async def test_delete_and_restart_end_a_batch_no_process_has(
    jp_fetch, project: Path
) -> None:
    import logging

    from nbprod.config import load_config
    from nbprod.history.records import JobRecord, now
    from nbprod.history.store import HistoryStore
    from nbprod.run.batch import create_batch
    from nbprod.server.jobs import JobManager

    write_scoring_notebook(project)
    config = load_config(project)
    store = HistoryStore(config.database_url)
    try:
        # queued, and its job ended without taking it (as nbprod 0.1 left them)
        stuck = [
            create_batch(config, "notebooks/score.ipynb", [{"offset": 1}], store=store)
            for _ in range(2)
        ]
        for index, created in enumerate(stuck):
            store.add_job(
                JobRecord(
                    f"j-{index}",
                    "batch",
                    "failed",
                    {},
                    target=created.batch.id,
                    created_at=now(),
                    finished_at=now(),
                )
            )
    finally:
        store.close()
    first, second = (created.batch.id for created in stuck)
    cancelled = await fetch_json(jp_fetch, "batches", first, method="DELETE")
    assert cancelled["batch"]["status"] == "cancelled"
    assert [r["status"] for r in cancelled["runs"]] == ["cancelled"]
    # a restarted server repairs the other one by itself
    manager = JobManager(config, logging.getLogger("test"))
    try:
        manager.recover()
        assert manager.store.get_batch(second).status == "interrupted"
        assert manager.store.get_batch(first).status == "cancelled"
    finally:
        manager.store.close()
