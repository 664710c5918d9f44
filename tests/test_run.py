"""Single runs with real kernels: parameter sources, validation, failures, metrics, history."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from helpers.run import write_notebook
from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbprod.cli import main
from nbprod.config import load_config
from nbprod.history.store import HistoryStore
from nbprod.run.metrics import METRIC_MIME, read_metrics, record
from nbprod.run.single import run_notebook

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod]\npackage = "demo"\n')
    monkeypatch.delenv("NBPROD_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def runs_in_history(root: Path) -> list:
    database = root / ".nbprod" / "history.db"
    if not database.exists():
        return []
    store = HistoryStore(load_config(root).database_url)
    try:
        return store.list_runs(limit=None)
    finally:
        store.close()


ECHO = """\
import nbprod
nbprod.record("a", a)
nbprod.record("b", b)
nbprod.record("c", c)
nbprod.record("name", name)
"""


def test_cli_run_with_every_parameter_source(project):
    nb = write_notebook(
        project / "notebooks" / "echo.ipynb",
        "a = 0  # from the file\nb = 0\nc = 0\nname = 'x'",
        ECHO,
    )
    (project / "params.yaml").write_text("a: 1\nb: 1\nc: 1\n")
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(nb),
            "-f",
            "params.yaml",
            "-y",
            "{b: 2, c: 2}",
            "-p",
            "c",
            "3",
            "-p",
            "name",
            "007",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["status"] == "succeeded"
    assert run["metrics"] == {"a": 1, "b": 2, "c": 3, "name": "007"}
    assert run["parameters"] == {"a": 1, "b": 2, "c": 3, "name": "007"}
    output = project / run["output_path"]
    assert (
        output.parent == project / "runs" / "echo"
        and output.name == f"{run['id']}.ipynb"
    )
    executed = nbformat.read(output, as_version=4)
    injected = [
        c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
    ]
    assert len(injected) == 1 and "c = 3" in injected[0].source
    assert executed.metadata["papermill"]["parameters"]["c"] == 3
    assert [r.id for r in runs_in_history(project)] == [run["id"]]
    # the record is shown again by `nbprod runs ID` and in the list
    shown = CliRunner().invoke(main, ["runs", run["id"][:18]])
    assert (
        shown.exit_code == 0 and "c = 3" in shown.stdout and run["id"] in shown.stdout
    )
    listed = CliRunner().invoke(main, ["runs", "--json", "--notebook", "echo.ipynb"])
    assert [r["id"] for r in json.loads(listed.stdout)] == [run["id"]]


def test_python_values_reach_the_notebook_unchanged(project):
    nb = write_notebook(
        project / "typed.ipynb",
        "import datetime\npair = (0, 0)\nkeys = {0: 'z'}\ntags = set()\nday = datetime.date(2000, 1, 1)",
        "from datetime import datetime  # a name the injection must not clobber\n"
        "assert pair == (1, 2) and type(pair) is tuple, pair\n"
        "assert keys == {1: 'a', (2, 3): 'b'}, keys\n"
        "assert tags == {'x', 'y'} and type(tags) is set, tags\n"
        "import datetime as d\n"
        "assert type(day) is d.date and day == d.date(2024, 2, 29), day\n"
        "import nbprod\nnbprod.record('ok', True)",
    )
    run = run_notebook(
        load_config(project),
        nb,
        {
            "pair": (1, 2),
            "keys": {1: "a", (2, 3): "b"},
            "tags": {"x", "y"},
            "day": dt.date(2024, 2, 29),
        },
    )
    assert run.status == "succeeded", run.error
    assert run.metrics == {"ok": True}
    stored = runs_in_history(project)[0]
    assert stored.parameters["keys"] == {1: "a", (2, 3): "b"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-p", "nrows", "5"],
            "unknown parameter 'nrows'; the notebook's parameters are: n, label",
        ),
        (["-p", "n", "abc"], "parameter 'n' expects int (default 3), got str 'abc'"),
        (["-y", "{n: [1]}"], "parameter 'n' expects int"),
        (["-y", "[1, 2]"], "parameters must be a YAML mapping"),
        (["--kernel", "nope"], "no kernel named 'nope'"),
    ],
)
def test_bad_parameters_fail_before_any_kernel(project, args, message):
    nb = write_notebook(project / "nb.ipynb", "n = 3\nlabel = 'x'", "print(n)")
    result = CliRunner().invoke(main, ["run", str(nb), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert not (project / "runs").exists()
    assert runs_in_history(project) == []


def test_parameters_for_a_notebook_without_parameters_cell(project):
    nb = write_notebook(project / "plain.ipynb", None, "x = 1")
    result = CliRunner().invoke(main, ["run", str(nb), "-p", "x", "2"])
    assert result.exit_code == 2
    assert "no parameters cell, but parameters were given: x" in result.stderr
    assert not (project / "runs").exists() and runs_in_history(project) == []


def test_failing_cell_is_recorded_and_output_kept(project):
    nb = write_notebook(
        project / "fail.ipynb",
        "n = 1",
        "import nbprod\nnbprod.record('before', n)",
        "raise ValueError(f'bad n={n}')",
        "nbprod.record('after', 1)",
    )
    result = CliRunner().invoke(main, ["run", str(nb), "-p", "n", "5"])
    assert result.exit_code == 1
    assert "failed" in result.stdout and "ValueError: bad n=5" in result.stdout
    run = runs_in_history(project)[0]
    executed = nbformat.read(project / run.output_path, as_version=4)
    assert run.status == "failed"
    assert run.error.ename == "ValueError" and run.error.evalue == "bad n=5"
    # cell 0 parameters, 1 injected, 2 record, 3 raises
    assert run.error.cell == 3 and run.error.cell_id == executed.cells[3].id
    assert run.metrics == {"before": 5}
    assert run.finished_at >= run.started_at and run.duration > 0


def test_kernel_that_dies(project):
    nb = write_notebook(
        project / "die.ipynb", None, "x = 1", "import os\nos._exit(1)", "y = 2"
    )
    run = run_notebook(load_config(project), nb)
    assert run.status == "failed"
    assert run.error.ename == "DeadKernelError"
    assert run.error.cell == 1
    assert (project / run.output_path).is_file()


def test_cell_timeout(project):
    nb = write_notebook(project / "slow.ipynb", None, "import time\ntime.sleep(60)")
    run = run_notebook(load_config(project), nb, timeout=1.5)
    assert run.status == "failed"
    assert run.error.ename == "CellTimeoutError"
    assert run.error.cell == 0
    assert runs_in_history(project)[0].status == "failed"


def test_kernel_runs_in_the_notebook_folder_without_chdir(project):
    data = project / "notebooks" / "data"
    data.mkdir(parents=True)
    (data / "rows.txt").write_text("1\n2\n3\n")
    nb = write_notebook(
        project / "notebooks" / "reader.ipynb",
        None,
        "import nbprod\nnbprod.record('rows', len(open('data/rows.txt').read().split()))",
    )
    before = os.getcwd()
    run = run_notebook(load_config(project), nb)
    assert os.getcwd() == before
    assert run.status == "succeeded", run.error
    assert run.metrics == {"rows": 3}


def test_record_displays_and_reads_back(capsys):
    assert record("auc", 0.5) == 0.5
    assert "auc: 0.5" in capsys.readouterr().out
    with pytest.raises(ValueError, match="JSON cannot hold"):
        record("x", float("nan"))
    with pytest.raises(TypeError, match="small JSON data"):
        record("x", object())
    with pytest.raises(TypeError, match="name"):
        record("", 1)
    nb = new_notebook(
        cells=[
            new_code_cell(
                "x",
                outputs=[
                    new_output(
                        "display_data", data={METRIC_MIME: {"name": "m", "value": 1}}
                    ),
                    new_output(
                        "display_data", data={METRIC_MIME: {"name": "m", "value": 2}}
                    ),
                    new_output("display_data", data={"text/plain": "other"}),
                ],
            )
        ]
    )
    assert read_metrics(nb) == {"m": 2}


def test_import_nbprod_is_cheap():
    code = (
        "import sys, nbprod\n"
        "assert nbprod.record is not None\n"
        "from nbprod import record\n"
        "heavy = {'papermill', 'sqlalchemy', 'nbformat', 'nbclient', 'IPython'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("warm", [True, False])
def test_a_batch_worker_has_imported_everything_a_run_needs(project, warm):
    # the forkserver imports nbprod.run.worker_preload once; every worker it
    # forks then starts its first run with nothing left to import
    (project / "pyproject.toml").write_text(
        f'[tool.nbprod]\npackage = "demo"\n[tool.nbprod.run]\nwarm_kernels = {str(warm).lower()}\n'
    )
    write_notebook(
        project / "nb.ipynb", "n = 1", "import nbprod\nnbprod.record('n', n)"
    )
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import nbprod.run.worker_preload\n"
        "from nbprod.config import load_config\n"
        "from nbprod.run import single\n"
        "from nbprod.run.execute import execute_run\n"
        "config = load_config('.')\n"
        "path, nb, typed = single.load_prepared(config, 'nb.ipynb', {'n': 2})\n"
        "out = Path('out.ipynb').resolve()\n"
        "record = single.new_record(config, path, typed, out, single.GitState())\n"
        "spec = single.make_spec(record, path, nb, out, None, None, config)\n"
        "before = set(sys.modules)\n"
        "outcome = execute_run(spec)\n"
        "print(outcome.status, outcome.metrics, (outcome.kernel_start or '')[:6])\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=project
    )
    assert result.returncode == 0, result.stderr
    status, imported = result.stdout.splitlines()
    assert status == f"succeeded {{'n': 2}} {'warm' if warm else 'normal'}"
    assert imported == "[]"


def test_runs_command_filters_and_errors(project):
    nb = write_notebook(project / "tiny.ipynb", "n = 1", "assert n < 2")
    config = load_config(project)
    ok = run_notebook(config, nb, {"n": 1})
    bad = run_notebook(config, nb, {"n": 2})
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["runs", "--json"]).stdout)
    assert [r["id"] for r in listed] == [bad.id, ok.id]
    failed = json.loads(
        runner.invoke(main, ["runs", "--json", "--status", "failed"]).stdout
    )
    assert [r["id"] for r in failed] == [bad.id]
    assert (
        json.loads(runner.invoke(main, ["runs", "--json", "--limit", "1"]).stdout)[0][
            "id"
        ]
        == bad.id
    )
    table = runner.invoke(main, ["runs"])
    assert (
        table.exit_code == 0
        and ok.id in table.stdout
        and "AssertionError" in table.stdout
    )
    missing = runner.invoke(main, ["runs", "nope"])
    assert missing.exit_code == 2 and "no run with id 'nope'" in missing.stderr
    assert runner.invoke(main, ["runs", "--batch", "b-nope"]).exit_code == 2


def test_ctrl_c_on_a_single_run_cancels_it_and_stops_its_kernel(project):
    import signal
    import time

    import psutil

    nb = write_notebook(project / "slow.ipynb", "i = 0", "import time\ntime.sleep(60)")
    process = subprocess.Popen(
        [sys.executable, "-c", "from nbprod.cli import main; main()", "run", str(nb)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kernels: list[psutil.Process] = []
    deadline = time.monotonic() + 120
    while not kernels and time.monotonic() < deadline and process.poll() is None:
        kernels = [
            child
            for child in psutil.Process(process.pid).children(recursive=True)
            if "ipykernel_launcher" in " ".join(child.cmdline())
        ]
        time.sleep(0.05)
    assert kernels, process.communicate()
    # let the kernel get into the sleeping cell before interrupting
    while time.monotonic() < deadline and not runs_in_history(project):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "recorded as cancelled" in stderr
    psutil.wait_procs(kernels, timeout=10)
    assert [k.pid for k in kernels if k.is_running() and k.status() != "zombie"] == []
    assert [r.status for r in runs_in_history(project)] == ["cancelled"]
