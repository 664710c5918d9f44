"""The warm keeper (``nbprod warm``) with real processes: reuse, idle exit, takeover, death."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from helpers.run import write_notebook

from nbprod.config import load_config
from nbprod.errors import ConfigError
from nbprod.run import keeper, warm
from nbprod.run.zygote import process_running

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from nbprod.cli import main; main()"]

PYPROJECT = '[tool.nbprod]\npackage = "demo"\n'


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    write_notebook(
        tmp_path / "nb.ipynb",
        "x = 1",
        "import colorsys, os, nbprod\nnbprod.record('x', x)",
        "nbprod.record('pid', os.getpid())",
    )
    monkeypatch.delenv("NBPROD_DATABASE_URL", raising=False)
    monkeypatch.delenv(warm.SHARED_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    # nothing this test started outlives it
    found = keeper.announced(tmp_path / ".nbprod")
    if found is not None and found["keeper"]:
        os.kill(found["pid"], signal.SIGKILL)
        pytest.fail(f"the keeper {found['pid']} outlived the test")


def nbprod(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=180, check=False
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def as_json(*args: str) -> dict:
    data: dict = json.loads(nbprod(*args, "--json").stdout)
    return data


def gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while process_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_keeper_serves_the_next_commands_and_stops_when_asked(project):
    started = as_json("warm", "start", "nb.ipynb")["keeper"]
    assert started["started"] is True
    (template,) = started["templates"]
    assert template["ready"] and template["forks"] == 0
    assert {"colorsys", "nbprod"} <= set(template["modules"])
    # a second start finds it
    again = as_json("warm", "start")["keeper"]
    assert again["started"] is False and again["pid"] == started["pid"]

    first = as_json("run", "nb.ipynb", "-p", "x", "2")
    second = as_json("run", "nb.ipynb", "-p", "x", "3")
    assert first["status"] == second["status"] == "succeeded"
    assert first["metrics"]["x"] == 2 and second["metrics"]["x"] == 3
    (project / "grid.yaml").write_text("x: [4, 5]\n")
    batch = as_json("batch", "nb.ipynb", "--grid", "grid.yaml")["batch"]
    assert batch["status"] == "succeeded", batch
    # every kernel was a fork of the keeper's one template, a new process each
    state = keeper.status(project / ".nbprod")
    assert state is not None
    (template,) = state["templates"]
    assert template["pid"] == started["templates"][0]["pid"]
    assert template["forks"] == 4 and template["kernels"] == 0
    assert first["metrics"]["pid"] != second["metrics"]["pid"]
    text = nbprod("warm", "status").stdout
    assert f"warm keeper {state['pid']}" in text and "forks 4" in text

    stopped = nbprod("warm", "stop").stdout
    assert f"stopped the warm keeper {state['pid']}" in stopped
    assert gone(state["pid"]) and gone(template["pid"])
    assert not (project / ".nbprod" / warm.ANNOUNCEMENT).exists()
    assert not os.path.exists(state["folder"])
    assert "no warm keeper runs" in nbprod("warm", "status").stdout
    assert (
        "stopped: asked to stop" in (project / ".nbprod" / keeper.LOG_NAME).read_text()
    )


def test_keep_warm_starts_a_keeper_at_the_first_run_and_it_exits_when_idle(project):
    # 3 seconds without a command
    (project / "pyproject.toml").write_text(
        PYPROJECT + "[tool.nbprod.run]\nkeep_warm = 0.05\n"
    )
    first = nbprod("run", "nb.ipynb")
    assert "keeping warm kernels for 0.05 idle min" in first.stderr
    state = keeper.status(project / ".nbprod")
    assert state is not None and state["keeper"]
    (template,) = state["templates"]
    assert template["forks"] == 1  # the first run already forked from it
    second = nbprod("run", "nb.ipynb")
    assert "keeping warm" not in second.stderr  # the same keeper
    assert keeper.status(project / ".nbprod")["templates"][0]["forks"] == 2
    assert gone(state["pid"]) and gone(template["pid"])
    assert (
        "stopped: idle for 0.05 min"
        in (project / ".nbprod" / keeper.LOG_NAME).read_text()
    )
    assert keeper.announced(project / ".nbprod") is None


def test_a_keeper_killed_outright_leaves_nothing_behind(project):
    state = as_json("warm", "start", "nb.ipynb")["keeper"]
    (template,) = state["templates"]
    os.kill(state["pid"], signal.SIGKILL)
    assert gone(template["pid"])  # a template whose parent died leaves
    assert keeper.announced(project / ".nbprod") is None  # a dead pid's is ignored
    run = as_json("run", "nb.ipynb")
    assert run["status"] == "succeeded"  # on a template of its own
    assert "no warm keeper runs" in nbprod("warm", "status").stdout


def test_a_server_that_announces_later_takes_over(project):
    state = as_json("warm", "start", "nb.ipynb")["keeper"]
    # a Jupyter server of this project (this process) announces its own folder
    folder = tempfile.mkdtemp(prefix="nbprod-warm-")
    try:
        (project / ".nbprod" / warm.ANNOUNCEMENT).write_text(
            json.dumps({"folder": folder, "pid": os.getpid()})
        )
        assert gone(state["pid"]) and gone(state["templates"][0]["pid"])
        assert (
            "another process announced"
            in (project / ".nbprod" / keeper.LOG_NAME).read_text()
        )
        # the server's announcement is left alone, and reported as the server's
        text = nbprod("warm", "status").stdout
        assert f"JupyterLab's server (pid {os.getpid()})" in text
        assert "they stop with it" in nbprod("warm", "stop").stdout
        assert (project / ".nbprod" / warm.ANNOUNCEMENT).exists()
    finally:
        os.rmdir(folder)


def test_a_changed_environment_restarts_the_keepers_template(project, monkeypatch):
    extra = project / "extra_path"
    extra.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(extra))
    state = as_json("warm", "start", "nb.ipynb")["keeper"]
    (old,) = state["templates"]
    time.sleep(0.05)  # a coarse file system clock must see a new mtime
    (extra / "new_package.py").write_text("A = 1\n")  # "pip install" into the path
    run = as_json("run", "nb.ipynb")
    assert run["status"] == "succeeded"
    (new,) = keeper.status(project / ".nbprod")["templates"]
    assert new["pid"] != old["pid"] and new["forks"] == 1
    assert gone(old["pid"])
    nbprod("warm", "stop")


def test_a_command_from_another_environment_or_preload_list_is_refused(project):
    state = as_json("warm", "start")["keeper"]
    assert state["templates"] == []
    path = os.path.join(state["folder"], warm.KEEPER_SOCKET)
    reply = warm.request(
        path, {"op": "keep", "modules": ["json"], "forced": [], "name": "x.sock"}, 10
    )
    assert reply == {
        "ok": False,
        "reason": "the command runs another Python environment",
    }
    assert keeper.status(project / ".nbprod")["templates"] == []
    # the project's preload list changed: this keeper's templates are all wrong
    name = warm.template_name(("json",), ("math",))
    reply = warm.request(
        path, {"op": "keep", "modules": ["json"], "forced": ["math"], "name": name}, 10
    )
    assert reply == {"ok": False, "reason": "the project's preload list changed"}
    assert gone(state["pid"])
    assert keeper.announced(project / ".nbprod") is None


def test_warm_commands_say_what_is_wrong(project):
    (project / "pyproject.toml").write_text(
        PYPROJECT + "[tool.nbprod.run]\nwarm_kernels = false\n"
    )
    done = nbprod("warm", "start", check=False)
    assert done.returncode == 2
    assert "warm kernels are off in this project" in done.stderr
    assert "Traceback" not in done.stderr
    (project / "pyproject.toml").write_text(
        PYPROJECT + '[tool.nbprod.run]\nkeep_warm = "soon"\n'
    )
    with pytest.raises(ConfigError, match="keep_warm must be a number of minutes"):
        load_config(project)
    (project / "pyproject.toml").write_text(PYPROJECT)
    assert "no warm keeper runs" in nbprod("warm", "stop").stdout
    done = nbprod("warm", "start", "missing.ipynb", check=False)
    assert done.returncode == 2 and "missing.ipynb" in done.stderr


def test_the_keepers_process_has_no_terminal_and_its_own_session(project):
    state = as_json("warm", "start")["keeper"]
    process = psutil.Process(state["pid"])
    assert os.getsid(state["pid"]) == state["pid"]  # Ctrl-C does not reach it
    assert process.cwd() == str(project / ".nbprod")
    names = {Path(f.path).name for f in process.open_files()}
    assert names <= {keeper.LOG_NAME}, names
    nbprod("warm", "stop")
    assert gone(state["pid"])


def test_garbage_on_a_control_socket_is_ignored(project):
    state = as_json("warm", "start", "nb.ipynb")["keeper"]
    (template,) = state["templates"]
    sockets = [
        os.path.join(state["folder"], warm.KEEPER_SOCKET),
        os.path.join(state["folder"], warm.template_name(tuple(template["modules"]))),
    ]
    for path in sockets:
        for garbage in (b"not json\n", b'["json", "but not an object"]\n'):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(path)
                conn.sendall(garbage)
    # both still answer
    assert warm.request(sockets[1], {"op": "ping"}, 10)["ok"]
    assert as_json("run", "nb.ipynb")["status"] == "succeeded"
    assert keeper.status(project / ".nbprod")["templates"][0]["forks"] == 1
    nbprod("warm", "stop")
