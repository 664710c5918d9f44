"""Batches with real kernels: local worker processes, interruption and resume, Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from click.testing import CliRunner
from helpers.run import write_notebook

from nbprod.cli import main
from nbprod.config import load_config
from nbprod.errors import ParameterError
from nbprod.history.store import HistoryStore
from nbprod.run.batch import run_batch
from nbprod.run.executors import (
    THREAD_VARIABLES,
    ExecutorError,
    executor_names,
    get_executor,
    threads_per_run,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod]\npackage = "demo"\n')
    monkeypatch.delenv("NBPROD_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def shared_project(project, database_url, monkeypatch):
    """The project with its history on SQLite, and on PostgreSQL (a team's database)."""
    monkeypatch.setenv("NBPROD_DATABASE_URL", database_url)
    return project


#: the command line, as a subprocess that can be sent signals
NBPROD = [sys.executable, "-c", "from nbprod.cli import main; main()"]


def history(root: Path) -> HistoryStore:
    return HistoryStore(load_config(root).database_url)


def test_batch_of_six_with_one_failure_and_relative_paths(project):
    # the notebook reads a file relative to its own folder while two runs go
    # on at once, from a process whose working directory is elsewhere
    folder = project / "notebooks"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "base.txt").write_text("100")
    nb = write_notebook(
        folder / "score.ipynb",
        "n = 0\nlabel = 'x'",
        "base = int(open('data/base.txt').read())",
        "assert n != 4, 'n=4 is broken'",
        "import nbprod\nnbprod.record('score', base + n)\nnbprod.record('label', label)",
    )
    (project / "grid.yaml").write_text("n: [1, 2, 3, 4, 5, 6]\nlabel: [a]\n")
    result = CliRunner().invoke(
        main, ["batch", str(nb), "--grid", "grid.yaml", "--jobs", "2", "--json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    runs = data["runs"]
    assert [r["parameters"]["n"] for r in runs] == [1, 2, 3, 4, 5, 6]
    assert [r["status"] for r in runs].count("succeeded") == 5
    failed = [r for r in runs if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["parameters"]["n"] == 4
    assert failed[0]["error"]["ename"] == "AssertionError"
    assert failed[0]["error"]["evalue"] == "n=4 is broken"
    assert failed[0]["error"]["cell"] == 3  # parameters, injected, read, assert
    for run in runs:
        assert (project / run["output_path"]).is_file()
        if run["status"] == "succeeded":
            assert run["metrics"] == {
                "score": 100 + run["parameters"]["n"],
                "label": "a",
            }
    batch = data["batch"]
    assert batch["status"] == "failed" and batch["counts"] == {
        "succeeded": 5,
        "failed": 1,
    }
    assert batch["output_dir"] == f"runs/score/{batch['id']}"
    store = history(project)
    try:
        stored = store.list_runs(batch_id=batch["id"], limit=None)
        assert [r.status for r in stored] == [r["status"] for r in runs]
        assert stored[0].metrics == {"score": 101, "label": "a"}
    finally:
        store.close()
    # the table form, and `nbprod runs --batch`
    listed = CliRunner().invoke(main, ["runs", "--batch", batch["id"], "--json"])
    assert len(json.loads(listed.stdout)) == 6


def test_batch_validates_every_set_before_running(project):
    nb = write_notebook(project / "nb.ipynb", "n = 0", "print(n)")
    (project / "grid.yaml").write_text("runs:\n  - {n: 1}\n  - {n: 2}\n  - {m: 3}\n")
    result = CliRunner().invoke(main, ["batch", str(nb), "--grid", "grid.yaml"])
    assert result.exit_code == 2
    assert "parameter set 3 of 3: unknown parameter 'm'" in " ".join(
        result.stderr.split()
    )
    assert not (project / "runs").exists()
    assert not (project / ".nbprod" / "history.db").exists()
    with pytest.raises(ParameterError, match="expects int"):
        run_batch(load_config(project), nb, [{"n": 1}, {"n": "x"}])
    assert not (project / "runs").exists()


def test_a_batch_skips_eval_false_cells_as_a_single_run_does(project):
    # nbdev's `#| eval: false`: never run outside an editor
    nb = write_notebook(
        project / "nb.ipynb",
        "n = 0",
        "#| eval: false\nraise RuntimeError('downloads the whole warehouse')",
        "import nbprod\nnbprod.record('twice', 2 * n)",
    )
    result = run_batch(load_config(project), nb, [{"n": 1}, {"n": 2}], jobs=1)
    assert [r.status for r in result.runs] == ["succeeded", "succeeded"]
    assert [r.metrics for r in result.runs] == [{"twice": 2}, {"twice": 4}]


def test_parallel_kernels_share_the_cores_as_joblib_workers_do(project, monkeypatch):
    # two kernels with a BLAS thread per core each would run twice as many
    # threads as cores (and OpenBLAS's idle ones spin): each gets its share
    cores = len(os.sched_getaffinity(0))
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    nb = write_notebook(
        project / "nb.ipynb",
        "n = 0",
        "import os, nbprod\n"
        "nbprod.record('omp', int(os.environ.get('OMP_NUM_THREADS', '0')))\n"
        "nbprod.record('openblas', int(os.environ.get('OPENBLAS_NUM_THREADS', '0')))",
    )
    config = load_config(project)
    result = run_batch(config, nb, [{"n": 1}, {"n": 2}], jobs=2)
    share = max(1, cores // 2)
    assert [r.metrics for r in result.runs] == [{"omp": share, "openblas": share}] * 2
    # one at a time: the kernel's own default; a count the user set: kept
    assert threads_per_run(1) == {}
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads_per_run(2) == {}


def test_executor_registry():
    assert {"local", "dask"} <= set(executor_names())
    with pytest.raises(ParameterError, match="unknown executor 'nope'"):
        get_executor("nope")
    with pytest.raises(ExecutorError, match="needs a scheduler"):
        get_executor("dask")


def _kernels_of(process: psutil.Process) -> list[psutil.Process]:
    found = []
    try:
        for child in process.children(recursive=True):
            try:
                if "ipykernel_launcher" in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.Error:
                pass
    except psutil.NoSuchProcess:
        pass
    return found


def _stop_batch_midway(
    project: Path, sets: int, finished: int, signum: int
) -> tuple[Path, str]:
    """Start `nbprod batch` as a process, signal it once `finished` runs are done."""
    lines = project / "notebooks" / "done.txt"
    nb = write_notebook(
        project / "notebooks" / "slow.ipynb",
        "i = 0",
        "import time\ntime.sleep(1.5)",
        "with open('done.txt', 'a') as f:\n    f.write(f'{i}\\n')",
    )
    (project / "grid.yaml").write_text(f"i: {list(range(sets))}\n")
    command = [*NBPROD, "batch", str(nb), "--grid", "grid.yaml"]
    process = subprocess.Popen(
        [*command, "--jobs", "2"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    parent = psutil.Process(process.pid)
    kernels: set[psutil.Process] = set()
    deadline = time.monotonic() + 120
    # wait until some runs finished, noting every kernel the batch starts
    while time.monotonic() < deadline and process.poll() is None:
        kernels.update(_kernels_of(parent))
        if lines.exists() and len(lines.read_text().split()) >= finished:
            break
        time.sleep(0.05)
    kernels.update(_kernels_of(parent))
    assert process.poll() is None, process.communicate()
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert kernels, "the batch started no kernel that could be observed"
    psutil.wait_procs(list(kernels), timeout=10)
    assert [
        k.pid for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE
    ] == []
    return lines, stdout


def test_sigterm_stops_a_batch_cleanly(project):
    lines, stdout = _stop_batch_midway(project, 4, 1, signal.SIGTERM)
    batch_id = stdout.split("resume with: nbprod batch --resume ")[1].split()[0]
    store = history(project)
    try:
        runs = store.list_runs(batch_id=batch_id, limit=None)
        done = sorted(r.parameters["i"] for r in runs if r.status == "succeeded")
        assert done == sorted(int(x) for x in lines.read_text().split())
        assert {r.status for r in runs} == {"succeeded", "cancelled"}
    finally:
        store.close()


def test_interrupt_and_resume(project):
    lines, stdout = _stop_batch_midway(project, 8, 2, signal.SIGINT)
    assert "resume with: nbprod batch --resume" in stdout

    batch_id = stdout.split("resume with: nbprod batch --resume ")[1].split()[0]
    store = history(project)
    try:
        runs = store.list_runs(batch_id=batch_id, limit=None)
        statuses = [r.status for r in runs]
        assert set(statuses) <= {"succeeded", "cancelled"}
        finished = [r.parameters["i"] for r in runs if r.status == "succeeded"]
        assert len(finished) >= 2 and statuses.count("cancelled") >= 1
        written = sorted(int(x) for x in lines.read_text().split())
        assert written == sorted(finished)  # every finished run is recorded
        assert store.get_batch(batch_id).status == "cancelled"
    finally:
        store.close()

    resumed = subprocess.run(
        [*NBPROD, "batch", "--resume", batch_id, "--jobs", "2", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert [r["status"] for r in data["runs"]] == ["succeeded"] * 8
    assert data["batch"]["status"] == "succeeded"
    # every parameter set ran exactly once over both invocations
    assert sorted(int(x) for x in lines.read_text().split()) == list(range(8))


def test_dask_batch_on_local_cluster(project):
    distributed = pytest.importorskip("distributed")
    nb = write_notebook(
        project / "notebooks" / "square.ipynb",
        "x = 1",
        "import nbprod\nnbprod.record('square', x * x)",
    )
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",  # a real network scheduler, as with --scheduler tcp://...
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        result = CliRunner().invoke(
            main,
            [
                "batch",
                str(nb),
                "--grid",
                str(_grid(project, "x: [2, 3, 4]")),
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
                "--json",
            ],
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["batch"]["executor"] == "dask"
    assert [r["metrics"] for r in data["runs"]] == [
        {"square": 4},
        {"square": 9},
        {"square": 16},
    ]
    for run in data["runs"]:
        output = project / run["output_path"]
        assert output.is_file()  # sent back by the worker, written here
        assert nbformat.read(output, as_version=4).metadata["papermill"]["parameters"]


def test_dask_unreachable_scheduler(project):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    nb = write_notebook(project / "nb.ipynb", "x = 1", "x")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = _batch_on(project, nb, "tcp://127.0.0.1:9")
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler" in result.stderr
    assert not (project / ".nbprod" / "history.db").exists()


def _batch_on(project: Path, nb: Path, scheduler: str):
    return CliRunner().invoke(
        main,
        [
            "batch",
            str(nb),
            "--grid",
            str(_grid(project, "x: [1]")),
            "--executor",
            "dask",
            "--scheduler",
            scheduler,
        ],
    )


def _grid(project: Path, text: str) -> Path:
    path = project / "grid.yaml"
    path.write_text(text + "\n")
    return path


def _batch_kernels(batch_dir: str) -> list[psutil.Process]:
    """Kernels anywhere on the machine whose working directory is in ``batch_dir``."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
            cwd = process.info["cwd"] or ""
        except psutil.Error:
            continue
        if "ipykernel_launcher" in cmdline and cwd.startswith(batch_dir):
            found.append(process)
    return found


def test_no_kernel_of_a_finished_batch_is_left_on_the_machine(project):
    # every kernel runs in the notebook's folder, so it is found system-wide by
    # that folder, whoever its parent is now (a worker, init, a subreaper)
    nb = write_notebook(project / "nbs" / "quick.ipynb", "x = 1", "x * 2")
    result = CliRunner().invoke(
        main,
        [
            "batch",
            str(nb),
            "--grid",
            str(_grid(project, "x: [1, 2, 3]")),
            "--jobs",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    left = psutil.wait_procs(_batch_kernels(str(project / "nbs")), timeout=10)[1]
    assert left == []


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def test_kill_9_of_a_batch_leaves_nothing_and_resume_runs_the_rest(shared_project):
    project = shared_project
    folder = project / "notebooks"
    hold = folder / "hold"
    folder.mkdir()
    hold.touch()
    nb = write_notebook(
        folder / "held.ipynb",
        "i = 0",
        # sets 0 and 1 finish; the others say they are held, then wait in their
        # cell while `hold` exists
        "import os, time\nif i >= 2:\n    open(f'held-{i}', 'w').close()\n"
        "while i >= 2 and os.path.exists('hold'):\n    time.sleep(0.1)",
        "import nbprod\nnbprod.record('twice', 2 * i)",
        "with open('done.txt', 'a') as f:\n    f.write(f'{i}\\n')",
    )
    (project / "grid.yaml").write_text("i: [0, 1, 2, 3, 4]\n")
    process = subprocess.Popen(
        [*NBPROD, "batch", str(nb), "--grid", "grid.yaml", "--jobs", "2"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    driver = psutil.Process(process.pid)
    lines = folder / "done.txt"
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 180
    # wait until sets 2 and 3 are held: the driver submits them only after it
    # has recorded 0 and 1 (a kill between a run's last cell and its record
    # rightly leaves that run interrupted)
    while time.monotonic() < deadline and process.poll() is None:
        for member in _tree(driver):
            seen[member.pid] = member
        if (folder / "held-2").exists() and (folder / "held-3").exists():
            break
        time.sleep(0.1)
    assert process.poll() is None, process.communicate()
    for member in _tree(driver):
        seen[member.pid] = member
    kinds = " ".join(" ".join(p.cmdline()) for p in seen.values() if p.is_running())
    assert "forkserver" in kinds and "ipykernel_launcher" in kinds
    process.kill()  # SIGKILL: no handler runs, nothing is told
    process.wait(timeout=10)
    # the forkserver, workers, resource tracker and kernels follow within seconds
    _, alive = psutil.wait_procs(
        [p for p in seen.values() if p.pid != process.pid], timeout=15
    )
    assert [
        (p.pid, p.cmdline()) for p in alive if p.status() != psutil.STATUS_ZOMBIE
    ] == []
    assert _batch_kernels(str(folder)) == []

    # the next command finds the batch interrupted, with the finished runs kept
    listed = subprocess.run(
        [*NBPROD, "runs", "--json", "--limit", "10"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    runs = {r["parameters"]["i"]: r for r in json.loads(listed.stdout)}
    assert sorted(runs) == [0, 1, 2, 3, 4]
    for i in (0, 1):
        assert runs[i]["status"] == "succeeded" and runs[i]["metrics"] == {
            "twice": 2 * i
        }
    for i in (2, 3, 4):
        assert runs[i]["status"] == "interrupted" and runs[i]["terminal"] is True
    batch_id = runs[0]["batch_id"]
    shown = subprocess.run(
        [*NBPROD, "runs"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert f"resume with: nbprod batch --resume {batch_id}" in shown.stdout

    hold.unlink()
    resumed = subprocess.run(
        [*NBPROD, "batch", "--resume", batch_id, "--jobs", "2", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["batch"]["status"] == "succeeded"
    assert [r["metrics"] for r in data["runs"]] == [{"twice": 2 * i} for i in range(5)]
    # every set ran to its end exactly once over both invocations
    assert sorted(int(x) for x in lines.read_text().split()) == [0, 1, 2, 3, 4]


def test_resume_refuses_a_batch_whose_process_is_alive(project):
    from nbprod.history.owner import process_owner
    from nbprod.history.records import BatchRecord, RunRecord, now

    nb = write_notebook(project / "nb.ipynb", "x = 1", "x")
    store = history(project)
    try:
        # owned by this (live) test process, as if `nbprod batch` ran here
        batch = BatchRecord(
            id="b-live",
            notebook="nb.ipynb",
            status="running",
            executor="local",
            jobs=1,
            output_dir="runs/nb/b-live",
            created_at=now(),
            owner=process_owner(),
        )
        run = RunRecord(
            id="r-live", notebook="nb.ipynb", parameters={"x": 2}, created_at=now()
        )
        store.add_batch(batch, [run])
    finally:
        store.close()
    assert nb.is_file()
    refused = subprocess.run(
        [*NBPROD, "batch", "--resume", "b-live"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    first = refused.stderr.strip().splitlines()[0]
    assert "batch b-live is still running" in first and str(os.getpid()) in first
    assert "Traceback" not in refused.stderr
    store = history(project)
    try:
        assert store.get_run("r-live").status == "queued"  # nothing ran
    finally:
        store.close()


def test_dask_executor_without_the_extra(monkeypatch):
    # as if `pip install 'nbprod[dask]'` had not been done
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ExecutorError, match="needs dask and distributed") as info:
        get_executor("dask", scheduler="tcp://127.0.0.1:8786")
    assert info.value.hint == "pip install 'nbprod[dask]'"


def test_a_run_whose_output_reached_disk_keeps_its_outcome(shared_project):
    project = shared_project
    """The process died after the worker wrote the output, before it was recorded."""
    from nbprod.history.owner import process_owner
    from nbprod.history.records import BatchRecord, RunRecord, now
    from nbprod.run.recovery import open_history
    from nbprod.run.single import run_notebook

    nb = write_notebook(
        project / "nb.ipynb",
        "x = 1",
        "import nbprod\nnbprod.record('x3', 3 * x)",
        "assert x != 2, 'x=2 fails'",
    )
    config = load_config(project)
    finished = [run_notebook(config, nb, {"x": x}) for x in (1, 2)]
    assert [r.status for r in finished] == ["succeeded", "failed"]
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    dead = process_owner(child.pid)
    child.wait()
    batch = BatchRecord(
        id="b-dead",
        notebook="nb.ipynb",
        status="running",
        executor="local",
        jobs=2,
        output_dir="runs/nb",
        created_at=now(),
        owner=dead,
    )
    # as recorded when the batch process died: both running, one never started
    runs = [
        RunRecord(
            id=f"r{i}",
            batch_id="b-dead",
            notebook="nb.ipynb",
            parameters={"x": i + 1},
            created_at=now(),
            status="running",
            output_path=done.output_path,
        )
        for i, done in enumerate(finished)
    ]
    runs.append(
        RunRecord(
            id="r2",
            batch_id="b-dead",
            notebook="nb.ipynb",
            parameters={"x": 3},
            created_at=now(),
            status="running",
            output_path="runs/nb/never-written.ipynb",
        )
    )
    store = history(project)
    try:
        store.add_batch(batch, runs)
    finally:
        store.close()
    with open_history(config) as store:
        kept = {r.id: r for r in store.list_runs(batch_id="b-dead")}
        assert store.get_batch("b-dead").status == "interrupted"
    assert kept["r0"].status == "succeeded" and kept["r0"].metrics == {"x3": 3}
    assert kept["r1"].status == "failed" and kept["r1"].metrics == {"x3": 6}
    assert kept["r1"].error.ename == "AssertionError" and kept["r1"].error.cell == 3
    assert kept["r0"].finished_at is not None and kept["r0"].duration
    assert kept["r2"].status == "interrupted"


def test_two_batches_from_two_processes_into_one_history(shared_project):
    project = shared_project
    nb = write_notebook(
        project / "nbs" / "count.ipynb",
        "i = 0\nwho = 'a'",
        "import nbprod\nnbprod.record('i', i)",
        "with open(f'{who}.txt', 'a') as f:\n    f.write(f'{i}\\n')",
    )
    grids = {}
    for who in ("a", "b"):
        grids[who] = project / f"{who}.yaml"
        grids[who].write_text(f"i: [0, 1, 2, 3]\nwho: [{who}]\n")
    processes = {
        who: subprocess.Popen(
            [*NBPROD, "batch", str(nb), "--grid", str(grid), "--jobs", "2", "--json"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who, grid in grids.items()
    }
    results = {}
    for who, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        results[who] = json.loads(stdout)
    store = history(project)
    try:
        assert store.count_runs() == 8  # every run recorded exactly once
        for who, data in results.items():
            batch_id = data["batch"]["id"]
            runs = store.list_runs(batch_id=batch_id, limit=None)
            assert [r.metrics for r in runs] == [{"i": i} for i in range(4)]
            assert {r.status for r in runs} == {"succeeded"}
            assert store.get_batch(batch_id).status == "succeeded"
            lines = (project / "nbs" / f"{who}.txt").read_text().split()
            assert sorted(lines) == ["0", "1", "2", "3"]
    finally:
        store.close()
