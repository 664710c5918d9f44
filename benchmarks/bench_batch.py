"""Batch run speed: nbprod batch against the ways people loop over papermill.

One small parameterized notebook, N parameter sets (default 32), measured side
by side in one run:

- a shell loop of the ``papermill`` command (one process per run);
- a Python loop over ``papermill.execute_notebook`` (one process, runs in turn);
- ``nbprod batch --grid`` (warm worker processes, ``--jobs`` default: CPU count),
  including its start-up and writing the run history.

Each way runs as its own subprocess and is timed from the outside, so every
start-up cost is counted. Prints seconds per run and the ratios.

Run with ``make bench`` or ``python benchmarks/bench_batch.py [--runs N] [--jobs N]``
(``--quick``: 8 runs).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def timed(command: list[str] | str, cwd: Path, shell: bool = False) -> float:
    """Run a command, fail loudly if it fails, and return the wall-clock seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=cwd,
        shell=shell,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=32, help="parameter sets (default 32)"
    )
    parser.add_argument("--quick", action="store_true", help="8 runs instead of 32")
    parser.add_argument("--jobs", type=int, default=None, help="nbprod batch --jobs")
    parser.add_argument(
        "--ways",
        default="cli,api,nbprod",
        help="comma-separated subset of cli,api,nbprod (default: all three)",
    )
    args = parser.parse_args()
    ways = set(args.ways.split(","))
    runs = 8 if args.quick else args.runs
    jobs = args.jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-") as folder:
        root = Path(folder)
        (root / "pyproject.toml").write_text('[tool.nbprod]\npackage = "bench"\n')
        make_notebook(root / "score.ipynb")
        (root / "grid.yaml").write_text(f"seed: {list(range(runs))}\n")
        (root / "out").mkdir()
        env_note = (
            f"{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
            f"load average {os.getloadavg()[0]:.1f} (other processes slow every way)"
        )
        print(f"{runs} runs of a 5-cell notebook; {env_note}; nbprod --jobs {jobs}")

        papermill = shlex.quote(str(BIN / "papermill"))
        loop = (
            f"for i in $(seq 0 {runs - 1}); do "
            f"{papermill} score.ipynb out/pm_$i.ipynb -p seed $i --no-progress-bar "
            "2>/dev/null || exit 1; done"
        )
        api_loop = (
            "import papermill\n"
            f"for i in range({runs}):\n"
            "    papermill.execute_notebook('score.ipynb', f'out/api_{i}.ipynb',"
            " parameters={'seed': i}, progress_bar=False)\n"
        )
        nbprod = [str(BIN / "nbprod"), "batch", "score.ipynb", "--grid", "grid.yaml"]
        nbprod += ["--jobs", str(jobs), "--json"]
        results = {}
        if "cli" in ways:
            results["papermill CLI, shell loop"] = timed(loop, root, shell=True)
        if "api" in ways:
            results["papermill.execute_notebook loop"] = timed(
                [sys.executable, "-c", api_loop], root
            )
        if "nbprod" in ways:
            results[f"nbprod batch --jobs {jobs}"] = timed(nbprod, root)
    baseline = next(iter(results.values()))
    width = max(len(name) for name in results)
    print(f"{'':<{width}}  {'total s':>8}  {'s/run':>6}  {'speed-up vs 1st row':>20}")
    for name, seconds in results.items():
        print(
            f"{name:<{width}}  {seconds:8.1f}  {seconds / runs:6.2f}  "
            f"{baseline / seconds:19.1f}x"
        )


if __name__ == "__main__":
    main()
