"""Latency of the export plan over HTTP, on a real Jupyter server, for a 200-cell notebook.

Side by side in one run, on one server:

- ``GET /nbprod/api/notebooks/{path}/plan`` (what the production panel asks after a save);
- ``POST .../plan`` with edited content each time (the live preview while typing), once
  editing an exploration cell and once an exported cell (which black must format again);
- ``GET /api/contents/{path}`` of the same notebook, Jupyter's own API, as the yardstick
  of what any request for this notebook costs.

And how Jupyter itself answers during a burst: ``GET /api/status`` timed again
and again while 30 uncached plan requests are in flight at once (the plans run in
the server's worker processes, off its event loop and its GIL).

Then the Run button: ``POST runs`` of the example's ``02_train.ipynb`` (pandas and
scikit-learn) until the run has finished, on a server with warm kernels (the
server keeps a template for the notebook, started when the panel asked for its
plan; its job workers fork their kernels from it) and on one with
``warm_kernels = false``; the first run of each is left out (start-up of the
disk caches and, with warm kernels, of the template).

Targets: the median ``GET plan`` under 150 ms; ``/api/status`` during the burst
under 100 ms. Run with ``make bench`` or
``python benchmarks/bench_api.py [--requests N] [--burst N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def make_notebook(cells: int) -> nbformat.NotebookNode:
    """A notebook of ``cells`` cells: exported functions, exploration, tests."""
    body = [
        new_markdown_cell("# Big\n\nA large notebook."),
        new_code_cell("import math"),
    ]
    for number in range(cells - 2):
        if number % 4 == 3:
            cell = new_code_cell(f"assert f{number - 2}(4) > 0")
            cell.metadata["tags"] = ["test"]
        elif number % 4 == 2:
            cell = new_code_cell(f"x{number} = f{number - 1}(2)\nx{number}")
        else:
            cell = new_code_cell(
                f"def f{number}(r):\n"
                f'    """Value {number}."""\n'
                f"    return math.sqrt(r) + {number}\n"
            )
            cell.metadata["tags"] = ["export"]
        body.append(cell)
    return new_notebook(cells=body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A ``jupyter server`` subprocess with nbprod enabled, on loopback."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={self.token}",
                "--ServerApp.jpserver_extensions={'nbprod': True}",
                "--allow-root",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # from bytecode, as an installed nbprod runs (see bench_export)
            env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.request("GET", "api/status")
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the Jupyter server did not start") from None
                time.sleep(0.2)

    def request(
        self, method: str, path: str, body: bytes | None = None, timeout: float = 60
    ) -> bytes:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            data=body,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def timed_ms(action: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def status_during_burst(
    server: Server, nb: nbformat.NotebookNode, plan_path: str, count: int
) -> tuple[list[float], float]:
    """``/api/status`` latencies (ms) while ``count`` distinct plans are in flight,
    and the seconds the burst took."""
    bodies = []
    for number in range(count):
        edited = nbformat.from_dict(json.loads(json.dumps(nb)))
        # an exploration cell: each plan is new to the cache, not a black re-format
        edited.cells[4].source = f"# burst {number}\n" + edited.cells[4].source
        bodies.append(json.dumps({"content": edited}).encode())
    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        futures = [
            pool.submit(server.request, "POST", plan_path, body, 600) for body in bodies
        ]
        samples: list[float] = []
        while not all(f.done() for f in futures):
            samples += timed_ms(lambda: server.request("GET", "api/status"), 1)
            time.sleep(0.02)
        for future in futures:
            assert json.loads(future.result())["ok"]
    return samples, time.perf_counter() - started


CHURN = Path(__file__).resolve().parent.parent / "examples" / "churn"
GENERATED = ("src", "tests", "runs", ".nbprod", ".ipynb_checkpoints", "__pycache__")


def finished_run(server: Server, body: bytes) -> None:
    """Start a run over HTTP and wait until it has finished (it must succeed)."""
    started = json.loads(server.request("POST", "nbprod/api/runs", body))
    run_id = started["run"]["id"]
    while True:
        run = json.loads(server.request("GET", f"nbprod/api/runs/{run_id}"))
        if run["status"] not in ("queued", "running"):
            assert run["status"] == "succeeded", run["error"]
            return
        time.sleep(0.02)


def run_button(runs: int) -> None:
    """Seconds from ``POST runs`` to a finished run of 02_train, warm kernels off and on."""
    medians = {}
    for warm in (False, True):
        root = Path(tempfile.mkdtemp(prefix="nbprod-bench-run-")) / "churn"
        server = None
        try:
            shutil.copytree(CHURN, root, ignore=shutil.ignore_patterns(*GENERATED))
            if not warm:
                with (root / "pyproject.toml").open("a") as file:
                    file.write("\n[tool.nbprod.run]\nwarm_kernels = false\n")
            # 02_train imports the package 01_features exports
            subprocess.run(
                [str(Path(sys.executable).parent / "nbprod"), "export"],
                cwd=root,
                check=True,
                capture_output=True,
            )
            server = Server(root)
            notebook = "notebooks/02_train.ipynb"
            server.request("GET", f"nbprod/api/notebooks/{notebook}/plan")
            body = json.dumps({"notebook": notebook}).encode()

            one_run = functools.partial(finished_run, server, body)
            one_run()  # left out: the disk caches, and the template's start
            medians[warm] = statistics.median(timed_ms(one_run, runs)) / 1000
        finally:
            if server is not None:
                server.stop()
            shutil.rmtree(root.parent, ignore_errors=True)
    print(
        f"\nThe Run button: POST runs of 02_train until it finished ({runs} runs, median)"
    )
    print(f"{'server':<44}{'s':>9}{'vs warm off':>17}")
    for warm, label in ((False, "warm kernels off"), (True, "warm kernels (default)")):
        print(
            f"{label:<44}{medians[warm]:>9.2f}{medians[warm] / medians[False]:>16.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument(
        "--runs", type=int, default=5, help="Run-button runs per server"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="nbprod-bench-api-"))
    server = None
    try:
        (root / "pyproject.toml").write_text(
            '[project]\nname = "big"\n\n[tool.nbprod]\npackage = "big"\n'
        )
        (root / "notebooks").mkdir()
        nb = make_notebook(args.cells)
        nbformat.write(nb, root / "notebooks" / "big.ipynb")
        server = Server(root)
        plan_path = "nbprod/api/notebooks/notebooks/big.ipynb/plan"

        def get_plan() -> None:
            plan = json.loads(server.request("GET", plan_path))
            assert plan["ok"], plan["problems"][:2]

        cold = timed_ms(get_plan, 1)[0]
        warm = timed_ms(get_plan, args.requests)
        edits = iter(range(10**6))

        def post_edited(index: int) -> Callable[[], None]:
            def post() -> None:
                nb.cells[index].source = (
                    f"# edit {next(edits)}\n" + nb.cells[index].source
                )
                body = json.dumps({"content": nb}).encode()
                assert json.loads(server.request("POST", plan_path, body))["ok"]

            return post

        # cell 4 is exploration (nothing to re-format), cell 3 is exported
        edited_other = timed_ms(post_edited(4), max(5, args.requests // 5))
        edited_export = timed_ms(post_edited(3), max(5, args.requests // 5))
        contents = timed_ms(
            lambda: server.request("GET", "api/contents/notebooks/big.ipynb"),
            args.requests,
        )
        base = statistics.median(contents)
        print(
            f"\nExport plan of a {args.cells}-cell notebook over HTTP (median of the requests)"
        )
        print(f"{'request':<44}{'ms':>9}{'vs contents API':>17}")
        rows = [
            ("GET plan, first (cold)", cold),
            (
                f"GET plan, saved notebook ({len(warm)} requests)",
                statistics.median(warm),
            ),
            (
                f"POST plan, exploration cell edited ({len(edited_other)})",
                statistics.median(edited_other),
            ),
            (
                f"POST plan, exported cell edited ({len(edited_export)})",
                statistics.median(edited_export),
            ),
            (f"GET /api/contents ({len(contents)} requests)", base),
        ]
        for name, value in rows:
            print(f"{name:<44}{value:>9.1f}{value / base:>16.1f}x")
        median = statistics.median(warm)
        verdict = "met" if median < 150 else "NOT met"
        print(f"\nmedian GET plan = {median:.1f} ms (target < 150 ms: {verdict})")

        samples, took = status_during_burst(server, nb, plan_path, args.burst)
        worst = max(samples)
        verdict = "met" if statistics.median(samples) < 100 else "NOT met"
        print(
            f"\nGET /api/status during {args.burst} uncached plan requests at once "
            f"({took:.1f} s): median {statistics.median(samples):.1f} ms, "
            f"max {worst:.1f} ms over {len(samples)} requests "
            f"(target median < 100 ms: {verdict})"
        )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    run_button(args.runs)


if __name__ == "__main__":
    main()
