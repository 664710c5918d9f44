"""Warm kernels (forked from a template) with real kernels: isolation, failures, fallback."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from helpers.run import write_notebook
from nbformat.v4 import new_code_cell, new_notebook

from nbprod.config import load_config
from nbprod.run import warm
from nbprod.run.execute import RunSpec, execute_run
from nbprod.run.single import run_notebook

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def own_templates():
    """Every test starts and ends without templates of this process."""
    warm.stop_templates()
    yield
    warm.stop_templates()


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod]\npackage = "demo"\n')
    monkeypatch.delenv("NBPROD_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def notebook(*cells: str) -> str:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "P",
        "language": "python",
    }
    nb.cells = [new_code_cell(source) for source in cells]
    return nbformat.writes(nb)


def run(cells: tuple[str, ...], cwd: Path, **options) -> tuple:
    outcome = execute_run(
        RunSpec(
            run_id="r",
            notebook_json=notebook(*cells),
            input_path=str(cwd / "nb.ipynb"),
            cwd=str(cwd),
            **options,
        )
    )
    return outcome, nbformat.reads(outcome.notebook_json, as_version=4)


def text_of(nb, index: int) -> str:
    return "".join(o.get("text", "") for o in nb.cells[index].outputs)


IMPORTS = "import importlib, os, random, sys\nimport numpy as np"

# not an import statement: the analysis does not see it, so no template preloads it
MEDDLE = """\
importlib.import_module("colorsys")
leaked_global = 1
os.environ["NBPROD_LEAK"] = "1"
os.chdir("/")
np.random.seed(0)
random.seed(0)
"""

LOOK = """\
print("global", "leaked_global" in globals())
print("module", "colorsys" in sys.modules)
print("env", os.environ.get("NBPROD_LEAK"))
print("cwd", os.getcwd())
print("draws", np.random.rand(), random.random())
"""


def test_consecutive_runs_share_nothing(tmp_path):
    first, _ = run((IMPORTS, MEDDLE), tmp_path)
    assert first.status == "succeeded" and first.kernel_start == "warm"
    seeded = (
        __import__("numpy").random.RandomState(0).rand(),
        __import__("random").Random(0).random(),
    )
    seen = []
    for _ in range(2):
        outcome, nb = run((IMPORTS, LOOK), tmp_path)
        assert outcome.status == "succeeded", outcome.error
        assert outcome.kernel_start == "warm"
        lines = dict(line.split(" ", 1) for line in text_of(nb, 1).splitlines())
        assert lines["global"] == "False"
        assert lines["module"] == "False"
        assert lines["env"] == "None"
        assert lines["cwd"] == str(tmp_path)
        draws = tuple(float(x) for x in lines["draws"].split())
        assert draws[0] != seeded[0] and draws[1] != seeded[1]
        seen.append(draws)
    # each kernel is seeded afresh, not a copy of the template's generators
    assert seen[0][0] != seen[1][0] and seen[0][1] != seen[1][1]
    # one template served every run
    assert len(warm.templates()) == 1


@pytest.mark.parametrize(
    "suicide",
    [
        "import os\nos._exit(3)",
        "import ctypes\nctypes.string_at(0)",  # a segfault
    ],
    ids=["os._exit", "segfault"],
)
def test_a_run_that_kills_its_kernel_fails_and_the_next_works(tmp_path, suicide):
    outcome, _ = run(("x = 1", suicide, "y = 2"), tmp_path, timeout=60)
    assert outcome.status == "failed"
    assert outcome.kernel_start == "warm"
    assert outcome.error is not None and outcome.error.cell == 1
    (template,) = warm.templates()
    assert template.alive()
    again, nb = run(("print(6 * 7)",), tmp_path)
    assert again.status == "succeeded" and again.kernel_start == "warm"
    assert text_of(nb, 0).strip() == "42"


def test_project_modules_are_not_preloaded_and_edits_are_seen(tmp_path):
    (tmp_path / "helper_mod.py").write_text("VALUE = 1\n")
    cells = ("import helper_mod\nprint(helper_mod.VALUE)",)
    outcome, nb = run(cells, tmp_path)
    assert outcome.kernel_start == "warm" and text_of(nb, 0).strip() == "1"
    (template,) = warm.templates()
    assert "helper_mod" in template.info["skipped"]
    (tmp_path / "helper_mod.py").write_text("VALUE = 2\n")
    outcome, nb = run(cells, tmp_path)
    assert outcome.kernel_start == "warm" and text_of(nb, 0).strip() == "2"


def test_cell_timeout_on_a_warm_kernel(tmp_path):
    started = time.monotonic()
    outcome, _ = run(("import time\ntime.sleep(120)",), tmp_path, timeout=2)
    assert outcome.status == "failed" and outcome.kernel_start == "warm"
    assert outcome.error.ename in ("CellTimeoutError", "TimeoutError")
    assert time.monotonic() - started < 100
    (template,) = warm.templates()
    deadline = time.monotonic() + 30
    while template.info and warm_children(template) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not warm_children(template)


def warm_children(template: warm.Template) -> list[psutil.Process]:
    try:
        return [
            p
            for p in psutil.Process(template.pid).children()
            if p.status() != psutil.STATUS_ZOMBIE
        ]
    except psutil.NoSuchProcess:
        return []


def test_a_template_with_threads_is_refused_and_the_run_falls_back(
    tmp_path, monkeypatch, caplog
):
    (tmp_path / "threaded_mod.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
    )
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{path}")
    with caplog.at_level(logging.WARNING, logger="nbprod.run.warm"):
        outcome, nb = run(("print('ran')",), tmp_path, preload=("threaded_mod",))
    assert outcome.status == "succeeded"
    assert outcome.kernel_start.startswith("normal: the template has")
    assert "warm kernel refused (the template has" in caplog.text
    assert text_of(nb, 0).strip() == "ran"


def test_a_changed_environment_restarts_the_template(tmp_path, monkeypatch, caplog):
    extra = tmp_path / "extra_path"
    extra.mkdir()
    monkeypatch.setenv(
        "PYTHONPATH", f"{extra}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    )
    outcome, _ = run(("x = 1",), tmp_path)
    assert outcome.kernel_start == "warm"
    (old,) = warm.templates()
    time.sleep(0.05)  # a coarse file system clock must see a new mtime
    (extra / "new_package.py").write_text("A = 1\n")  # "pip install" into the path
    with caplog.at_level(logging.WARNING, logger="nbprod.run.warm"):
        outcome, _ = run(("x = 1",), tmp_path)
    assert outcome.status == "succeeded"
    assert (
        outcome.kernel_start
        == "normal: the Python environment changed since the template started"
    )
    assert "environment changed" in caplog.text
    (new,) = warm.templates()
    assert new is not old
    old.process.wait(30)  # the old one ends once its kernels have
    outcome, _ = run(("x = 1",), tmp_path)
    assert outcome.status == "succeeded" and outcome.kernel_start == "warm"


def test_a_template_that_stops_answering_falls_back_then_is_replaced(tmp_path):
    run(("x = 1",), tmp_path)
    (template,) = warm.templates()
    os.unlink(template.socket_path)  # alive, but unreachable
    outcome, _ = run(("x = 1",), tmp_path)
    assert outcome.status == "succeeded"
    assert outcome.kernel_start.startswith("normal: the template did not answer")
    template.kill()  # a dead template is replaced at the next run
    outcome, _ = run(("x = 1",), tmp_path)
    assert outcome.status == "succeeded" and outcome.kernel_start == "warm"
    assert warm.templates()[0] is not template


def test_other_pythons_are_refused():
    refusal = warm.provisioner_class()._refusal
    assert "is not the project's" in refusal(
        ["/usr/bin/python3", "-m", "ipykernel_launcher"], {}
    )
    assert "not ipykernel" in refusal([sys.executable, "-m", "other_kernel"], {})
    assert refusal([sys.executable, "-m", "ipykernel_launcher", "-f", "x"], {}) is None


def test_a_venvs_python_and_python3_find_the_same_template(monkeypatch, tmp_path):
    # a console script may say `python3` where the Jupyter server runs
    # `python`: both are this interpreter and must find its published templates
    folder = Path(sys.executable).parent
    names = [folder / n for n in ("python", "python3") if (folder / n).exists()]
    keys = set()
    for name in names:
        monkeypatch.setattr(sys, "executable", str(name))
        keys.add(warm._published_name(warm._template_key(("numpy",), ())))
    assert len(names) == 2 and len(keys) == 1
    # another interpreter (another binary) is another template
    other = tmp_path / "python"
    other.symlink_to("/bin/sh")
    monkeypatch.setattr(sys, "executable", str(other))
    assert warm._published_name(warm._template_key(("numpy",), ())) not in keys


def test_only_a_live_servers_closed_folder_of_this_user_is_adopted(
    tmp_path, monkeypatch
):
    import json

    monkeypatch.delenv(warm.SHARED_ENV, raising=False)
    state = tmp_path / ".nbprod"
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o700)

    def announce(pid: int) -> None:
        state.mkdir(exist_ok=True)
        (state / warm.ANNOUNCEMENT).write_text(
            json.dumps({"folder": str(folder), "pid": pid})
        )

    assert warm.adopt_announced(state) is None  # nothing announced
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    announce(dead.pid)
    assert warm.adopt_announced(state) is None  # the server is gone
    announce(os.getpid())
    folder.chmod(0o755)
    assert warm.adopt_announced(state) is None  # others may open it
    folder.chmod(0o700)
    if os.getuid() == 0:
        os.chown(folder, 65534, -1)
        assert warm.adopt_announced(state) is None  # another user's
        os.chown(folder, 0, -1)
    assert warm.adopt_announced(state) == str(folder)
    assert os.environ[warm.SHARED_ENV] == str(folder)
    monkeypatch.delenv(warm.SHARED_ENV)
    # the server withdraws its own announcement only
    warm.withdraw(state)
    assert not (state / warm.ANNOUNCEMENT).exists()


def test_warm_kernels_off_in_the_configuration(project):
    (project / "pyproject.toml").write_text(
        '[tool.nbprod]\npackage = "demo"\n[tool.nbprod.run]\nwarm_kernels = false\n'
    )
    nb = write_notebook(
        project / "n.ipynb", "x = 1", "import nbprod\nnbprod.record('x', x)"
    )
    config = load_config(project)
    assert config.run.warm_kernels is False
    record = run_notebook(config, nb, {"x": 3})
    assert record.status == "succeeded" and record.metrics == {"x": 3}
    assert warm.templates() == []


def test_notebook_imports():
    cells = [
        "import numpy as np, os.path\nfrom sklearn.linear_model import LogisticRegression",
        "%matplotlib inline\nimport pandas as pd",
        "from . import sibling\ndef f():\n    import json",
        "this is not python",
    ]
    assert warm.notebook_imports(cells) == (
        "numpy",
        "os.path",
        "sklearn.linear_model",
        "pandas",
        "json",
    )


def test_interrupted_warm_batch_leaves_no_process(project):
    # the templates' sockets and the kernels' connection files go to a
    # folder of this test's, so its processes can be told from other tests'
    private_tmp = Path(tempfile.mkdtemp(prefix="nbw-", dir="/tmp"))
    write_notebook(
        project / "slow.ipynb",
        "i = 0",
        "import time, numpy\ntime.sleep(2 + 60 * (i > 1))",
    )
    (project / "grid.yaml").write_text("i: [0, 1, 2, 3]\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from nbprod.cli import main; main()",
            "batch",
            "slow.ipynb",
            "--grid",
            "grid.yaml",
            "--jobs",
            "2",
        ],
        cwd=project,
        env=dict(os.environ, TMPDIR=str(private_tmp)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    seen: dict[psutil.Process, str] = {}
    while time.monotonic() < deadline and process.poll() is None:
        found = {p: command_line(p) for p in ours(private_tmp)}
        seen.update(found)
        kernels = [p for p, line in found.items() if "ipykernel_launcher" in line]
        # the slow runs (i > 1) are in their sleeping cell
        if len(kernels) == 2 and len(list(project.glob("runs/**/*.ipynb"))) >= 2:
            break
        time.sleep(0.1)
    assert process.poll() is None, process.communicate()
    # one template for the batch: the one the command started first thing
    # (warm.prestart) is the one its workers fork from
    assert sum("nbprod.run.zygote" in line for line in seen.values()) == 1
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0
    gone_by = time.monotonic() + 15
    while [p for p in seen if alive(p)] and time.monotonic() < gone_by:
        time.sleep(0.2)
    assert [p for p in seen if alive(p)] == [], stderr
    assert ours(private_tmp) == []


def command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def ours(private_tmp: Path) -> list[psutil.Process]:
    """Live templates started under ``private_tmp`` (their socket is there) and their kernels."""
    found = set()
    for process in psutil.process_iter():
        try:
            if alive(process) and str(private_tmp) in command_line(process):
                found.add(process)
                found.update(p for p in process.children(recursive=True) if alive(p))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return sorted(found, key=lambda p: p.pid)


def test_the_examples_metrics_are_those_of_a_normal_kernel(churn_project):
    from nbprod.export import export_notebooks
    from nbprod.run.single import load_prepared, notebook_json

    config = load_config(churn_project)
    assert export_notebooks(config, jobs=1).exit_code == 0
    path, prepared, _ = load_prepared(
        config, "notebooks/02_train.ipynb", {"n_rows": 400, "seed": 1}
    )
    metrics = {}
    for warm_on in (False, True):
        outcome = execute_run(
            RunSpec(
                run_id="r",
                notebook_json=notebook_json(prepared),
                input_path=str(path),
                cwd=str(path.parent),
                warm=warm_on,
            )
        )
        assert outcome.status == "succeeded", outcome.error
        assert outcome.kernel_start.startswith("warm" if warm_on else "normal")
        metrics[warm_on] = outcome.metrics
    assert metrics[True] == metrics[False]
    assert set(metrics[True]) == {"auc", "accuracy"}
    (template,) = warm.templates()
    assert {"pandas", "sklearn.linear_model"} <= set(template.info["preloaded"])
    assert "churn.features" in template.info["skipped"]  # the project's own code


DRIVER = """\
import sys
from pathlib import Path
from nbprod.run.execute import RunSpec, execute_run

path = Path(sys.argv[1])
execute_run(RunSpec(run_id="r", notebook_json=path.read_text(), input_path=str(path), cwd=str(path.parent)))
"""


def test_a_shared_template_serves_another_process_and_outlives_it(
    tmp_path, monkeypatch
):
    # this process shares its templates, as the Jupyter server does
    monkeypatch.setattr(warm, "_PUBLISHING", None)
    folder = warm.share_templates()
    cells = (
        "import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))",
        "time.sleep(300)",
    )
    template = warm.get_template(warm.notebook_imports(cells))
    template.wait_ready()
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook(*cells))
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(path)],
        env={**os.environ, warm.SHARED_ENV: folder},
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "kernel.pid").exists():
            assert driver.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        kernel = psutil.Process(int((tmp_path / "kernel.pid").read_text()))
        # forked from this process's template, not from one the driver started
        assert kernel.ppid() == template.pid
        assert template.ping()["forks"] == 1
        driver.kill()  # SIGKILL: nothing of the driver's can clean up
        driver.wait()
        kernel.wait(timeout=20)  # the template kills the kernel of a dead driver
    finally:
        driver.kill()
        driver.wait()
        warm.stop_sharing()
    assert not os.path.exists(folder)
