"""Batch run speed: nbprod batch against the ways people loop over papermill.

Two notebooks: the example's ``02_train.ipynb`` (pandas + scikit-learn, 8 runs)
and a small 5-cell one (32 runs), each measured side by side in one run:

- a shell loop of the ``papermill`` command (one process per run);
- a Python loop over ``papermill.execute_notebook`` (one process, runs in turn);
- ``nbprod batch --grid`` with warm kernels off, then on (the default: kernels
  forked from a template that preloaded the imports), ``--jobs`` default: CPU
  count, including its start-up and writing the run history;
- the same beside JupyterLab's server, and after ``nbprod warm start``: a
  later command of a session, forking from a template that is already warm;
- the limit: the notebook's own compute (papermill's per-cell durations, the
  import cell left out) divided by the cores.

Then the memory (PSS and USS) of a template, a kernel forked from it and a
normal kernel, each after importing 02_train's modules.

Each way runs as its own subprocess and is timed from the outside, so every
start-up cost is counted. Prints seconds per run and the ratios.

Run with ``make bench`` or ``python benchmarks/bench_batch.py [--runs N] [--jobs N]``
(``--quick``: 8 runs).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

BIN = Path(sys.executable).parent


def make_notebook(path: Path) -> None:
    """A small notebook of the usual shape: parameters, a bit of work, a result."""
    parameters = new_code_cell("seed = 0\nsize = 2000")
    parameters.metadata["tags"] = ["parameters"]
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Scoring"),
            parameters,
            new_code_cell("import random\nimport statistics"),
            new_code_cell(
                "rng = random.Random(seed)\n"
                "values = [rng.gauss(0, 1) for _ in range(size)]\n"
                "score = statistics.mean(values)"
            ),
            new_code_cell("print(f'seed={seed} score={score:.4f}')"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


#: every tool runs from bytecode, as an installed package does (see bench_export)
CACHED_BYTECODE = {
    k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"
}


def timed(command: list[str] | str, cwd: Path, shell: bool = False) -> float:
    """Run a command, fail loudly if it fails, and return the wall-clock seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=cwd,
        shell=shell,
        env=CACHED_BYTECODE,
        executable="/bin/bash" if shell else None,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"failed: {command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return seconds


CHURN = Path(__file__).resolve().parent.parent / "examples" / "churn"
GENERATED = ("src", "tests", "runs", ".nbprod", ".ipynb_checkpoints", "__pycache__")


def cell_compute(notebooks: list[Path]) -> float:
    """Mean seconds a run spends in its own cells (papermill's per-cell durations).

    The first code cell (the imports) is left out: it is the start-up cost
    that warm kernels remove, not the notebook's work.
    """
    totals = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"][1:]
        totals.append(
            sum(c.metadata.get("papermill", {}).get("duration") or 0.0 for c in code)
        )
    return sum(totals) / len(totals)


def compare(
    label: str,
    root: Path,
    notebook: str,
    parameter: str,
    runs: int,
    jobs: int,
    ways: set[str],
    extra: str = "",
) -> dict[str, float]:
    """Time every way of running ``runs`` parameter sets of ``notebook`` in ``root``."""
    (root / "grid.yaml").write_text(f"{parameter}: {list(range(runs))}\n{extra}")
    out = root / "out"
    out.mkdir(exist_ok=True)
    papermill = shlex.quote(str(BIN / "papermill"))
    loop = (
        f"for i in $(seq 0 {runs - 1}); do "
        f"{papermill} {notebook} out/pm_$i.ipynb -p {parameter} $i --no-progress-bar "
        "2>/dev/null || exit 1; done"
    )
    api_loop = (
        "import papermill\n"
        f"for i in range({runs}):\n"
        f"    papermill.execute_notebook({notebook!r}, f'out/api_{{i}}.ipynb',"
        f" parameters={{{parameter!r}: i}}, progress_bar=False, cwd={str(Path(notebook).parent)!r})\n"
    )
    nbprod = [str(BIN / "nbprod"), "batch", notebook, "--grid", "grid.yaml"]
    nbprod += ["--jobs", str(jobs), "--json"]
    pyproject = root / "pyproject.toml"
    base_config = pyproject.read_text()
    results: dict[str, float] = {}
    if "cli" in ways:
        results["papermill CLI, shell loop"] = timed(loop, root, shell=True)
    if "api" in ways:
        results["papermill.execute_notebook loop"] = timed(
            [sys.executable, "-c", api_loop], root
        )
    if "nbprod" in ways:
        pyproject.write_text(
            base_config + "\n[tool.nbprod.run]\nwarm_kernels = false\n"
        )
        results[f"nbprod batch --jobs {jobs}, warm kernels off"] = timed(nbprod, root)
        pyproject.write_text(base_config)
        results[f"nbprod batch --jobs {jobs}, warm kernels (default)"] = timed(
            nbprod, root
        )
    if "beside" in ways:
        results[f"nbprod batch --jobs {jobs} beside JupyterLab's server"] = (
            timed_beside_server(nbprod, root, notebook)
        )
    if "kept" in ways:
        results[f"nbprod batch --jobs {jobs}, next command (nbprod warm keeper)"] = (
            timed_with_keeper(nbprod, root, notebook)
        )
    measured = sorted(out.glob("pm_*.ipynb")) or sorted(out.glob("api_*.ipynb"))
    compute = cell_compute(measured) if measured else None
    print(
        f"\n{label}: {runs} runs; load average {os.getloadavg()[0]:.1f} before, ",
        end="",
    )
    baseline = next(iter(results.values()))
    width = max(len(name) for name in results)
    print(f"{os.getloadavg()[0]:.1f} after")
    print(f"{'':<{width}}  {'total s':>8}  {'s/run':>6}  {'vs 1st row':>10}")
    for name, seconds in results.items():
        print(
            f"{name:<{width}}  {seconds:8.1f}  {seconds / runs:6.2f}  "
            f"{baseline / seconds:9.1f}x"
        )
    if compute is not None:
        limit = compute * runs / (os.cpu_count() or 1)
        print(
            f"{'limit: cell compute / cores':<{width}}  {limit:8.1f}  {limit / runs:6.2f}"
            f"  ({compute:.3f} s of cells per run, imports left out)"
        )
        for name in (
            f"nbprod batch --jobs {jobs}, warm kernels (default)",
            f"nbprod batch --jobs {jobs} beside JupyterLab's server",
            f"nbprod batch --jobs {jobs}, next command (nbprod warm keeper)",
        ):
            if name in results:
                print(f"{name} = {results[name] / limit:.1f}x the limit")
    return results


def timed_beside_server(command: list[str], root: Path, notebook: str) -> float:
    """``command`` in a terminal beside a Jupyter server that shows ``notebook``.

    The server (nbprod's extension) starts the notebook's warm template when
    the panel asks for its plan, and announces it; the batch forks from it.
    """
    import json

    from bench_api import Server

    from nbprod.run import warm

    server = Server(root)
    try:
        server.request("GET", f"nbprod/api/notebooks/{notebook}/plan")
        announced = root / ".nbprod" / warm.ANNOUNCEMENT
        deadline = time.monotonic() + 120
        # ready once its socket exists: the template binds it after importing
        while not (
            announced.exists()
            and any(Path(json.loads(announced.read_text())["folder"]).glob("*.sock"))
        ):
            if time.monotonic() > deadline:
                raise SystemExit("the server's warm template did not start")
            time.sleep(0.1)
        return timed(command, root)
    finally:
        server.stop()


def timed_with_keeper(command: list[str], root: Path, notebook: str) -> float:
    """``command`` after ``nbprod warm start``: a later command of a working session.

    The keeper's start (which imports the notebook's libraries once) is
    printed, not counted: it is paid by the first command of the session.
    """
    nbprod = str(BIN / "nbprod")
    started = timed([nbprod, "warm", "start", notebook], root)
    print(f"(nbprod warm start {notebook}: {started:.1f} s, once per session)")
    try:
        return timed(command, root)
    finally:
        timed([nbprod, "warm", "stop"], root)


def memory_figures(modules: tuple[str, ...], cwd: Path) -> None:
    """PSS and USS (psutil) of a template, a kernel forked from it and a normal kernel."""
    import psutil
    from jupyter_client import KernelManager

    from nbprod.run import warm

    code = "\n".join(f"import {name}" for name in modules)

    def started(manager: Any) -> tuple[Any, int]:
        manager.start_kernel(cwd=str(cwd))
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=120)
        client.execute_interactive(code, timeout=120)
        return client, manager.provisioner.pid

    def mib(pid: int) -> str:
        info = psutil.Process(pid).memory_full_info()
        return f"PSS {info.pss / 2**20:6.1f} MiB, USS {info.uss / 2**20:6.1f} MiB"

    normal = KernelManager()
    forked = warm.kernel_manager_class(KernelManager, modules, ())()
    kernels = []
    try:
        kernels.append(started(normal))
        kernels.append(started(forked))
        template = warm.templates()[0]
        print(f"\nmemory after `{'; '.join(code.splitlines())}` in each kernel:")
        print(f"  template          {mib(template.pid)}")
        print(f"  forked kernel     {mib(kernels[1][1])}")
        print(f"  normal kernel     {mib(kernels[0][1])}")
    finally:
        for client, _ in kernels:
            client.stop_channels()
        for manager in (normal, forked):
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
        warm.stop_templates()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=32, help="runs of the tiny notebook (default 32)"
    )
    parser.add_argument(
        "--train-runs", type=int, default=8, help="runs of 02_train (default 8)"
    )
    parser.add_argument("--quick", action="store_true", help="8 runs instead of 32")
    parser.add_argument("--jobs", type=int, default=None, help="nbprod batch --jobs")
    parser.add_argument(
        "--ways",
        default="cli,api,nbprod,beside,kept",
        help="comma-separated subset of cli,api,nbprod,beside,kept (default: all)",
    )
    parser.add_argument(
        "--notebooks",
        default="train,tiny,memory",
        help="comma-separated subset of train,tiny,memory (default: all)",
    )
    args = parser.parse_args()
    ways = set(args.ways.split(","))
    which = set(args.notebooks.split(","))
    runs = 8 if args.quick else args.runs
    jobs = args.jobs or os.cpu_count() or 1
    print(
        f"{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; nbprod --jobs {jobs}; "
        "other processes on the machine slow every way"
    )
    if "train" in which:
        with tempfile.TemporaryDirectory(prefix="nbprod-bench-train-") as folder:
            root = Path(folder) / "churn"
            shutil.copytree(CHURN, root, ignore=shutil.ignore_patterns(*GENERATED))
            # 02_train imports the package 01_features exports
            subprocess.run(
                [str(BIN / "nbprod"), "export"],
                cwd=root,
                check=True,
                capture_output=True,
            )
            compare(
                "examples/churn 02_train.ipynb (pandas + scikit-learn)",
                root,
                "notebooks/02_train.ipynb",
                "seed",
                args.train_runs,
                jobs,
                ways,
            )
            if "memory" in which:
                memory_figures(
                    ("numpy", "pandas", "sklearn.linear_model", "sklearn.pipeline"),
                    root / "notebooks",
                )
    if "tiny" in which:
        with tempfile.TemporaryDirectory(prefix="nbprod-bench-") as folder:
            root = Path(folder)
            (root / "pyproject.toml").write_text('[tool.nbprod]\npackage = "bench"\n')
            make_notebook(root / "score.ipynb")
            compare(
                "5-cell notebook (random, statistics)",
                root,
                "score.ipynb",
                "seed",
                runs,
                jobs,
                ways,
            )


if __name__ == "__main__":
    main()
