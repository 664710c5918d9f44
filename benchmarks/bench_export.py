"""Export speed: a generated corpus of notebooks, nbprod against the tools people use instead.

The corpus is 100 notebooks of 40 cells each (imports, exported functions and
constants, exploration, tests), written with nbdev directives so that nbdev can
export the same notebooks. Measured side by side in one run:

- ``nbprod export``, cold (nothing exported yet) and again with no change;
- nbdev's ``nb_export`` (when nbdev is installed: ``pip install nbdev``);
- nbconvert's ``PythonExporter`` (the whole notebook to a script, no tags).

Run with ``make bench`` or ``python benchmarks/bench_export.py [--notebooks N] [--cells N]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def make_notebook(number: int, cells: int) -> nbformat.NotebookNode:
    """One corpus notebook: every fourth cell exploration, a test after each group."""
    body = [
        new_markdown_cell(
            f"# Module {number}\n\nFeatures of part {number} of the pipeline."
        ),
        new_code_cell(
            f"#| default_exp part_{number:03d}\n"
            "import math\nimport statistics\nfrom collections import Counter"
        ),
    ]
    block = 0
    while len(body) < cells:
        block += 1
        body.append(
            new_code_cell(
                f"#| export\nSCALE_{block} = {block}\n\n\n"
                f"def feature_{block}(values):\n"
                f'    """Scaled mean and spread of values (block {block})."""\n'
                f"    mean = statistics.mean(values) * SCALE_{block}\n"
                f"    spread = math.sqrt(sum((v - mean) ** 2 for v in values))\n"
                f"    return {{'mean': mean, 'spread': spread, 'n': len(values)}}\n"
            )
        )
        body.append(
            new_code_cell(
                f"#| export\nclass Counter{block}:\n"
                f"    def __init__(self, items):\n        self.counts = Counter(items)\n\n"
                f"    def top(self, k=3):\n        return self.counts.most_common(k)\n"
            )
        )
        body.append(
            new_code_cell(
                f"data_{block} = [1, 2, 3, {block}]\nfeature_{block}(data_{block})"
            )
        )
        test = new_code_cell(
            f"# feature {block} scales the mean\n"
            f"assert feature_{block}([2, 2])['mean'] == 2 * SCALE_{block}"
        )
        test.metadata["tags"] = ["test"]
        body.append(test)
    return new_notebook(cells=body[:cells])


def make_corpus(root: Path, notebooks: int, cells: int) -> list[Path]:
    """Write the corpus as an nbprod project (and an nbdev one) under ``root``."""
    (root / "pyproject.toml").write_text(
        '[project]\nname = "corpus"\n\n[tool.nbprod]\npackage = "corpus"\nsource = "src"\n\n'
        '[tool.nbdev]\nlib_path = "nbdev_out/corpus"\nnbs_path = "notebooks"\n'
    )
    paths = []
    for number in range(notebooks):
        path = root / "notebooks" / f"{number:03d}_part.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(make_notebook(number, cells), path)
        paths.append(path)
    return paths


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=100)
    parser.add_argument("--cells", type=int, default=40)
    args = parser.parse_args()

    from nbprod.config import load_config
    from nbprod.export import export_notebooks

    work = Path(tempfile.mkdtemp(prefix="nbprod-bench-export-"))
    try:
        paths = make_corpus(work, args.notebooks, args.cells)
        config = load_config(work)
        rows: list[tuple[str, float]] = []

        def nbprod_export() -> None:
            result = export_notebooks(config)
            assert result.exit_code == 0, [str(p) for p in result.problems][:3]

        rows.append(("nbprod export (cold)", timed(nbprod_export)))
        rows.append(("nbprod export (no change)", timed(nbprod_export)))

        try:
            from nbdev.export import nb_export
        except ImportError:
            print("nbdev not installed: skipping it (make bench installs it)")
        else:
            import os

            os.chdir(work)  # nbdev finds its [tool.nbdev] from the working folder
            lib = str(work / "nbdev_out" / "corpus")
            rows.append(
                (
                    "nbdev nb_export",
                    timed(lambda: [nb_export(str(p), lib) for p in paths]),
                )
            )

        from nbconvert import PythonExporter

        out = work / "nbconvert_out"
        out.mkdir()

        def nbconvert_all() -> None:
            exporter = PythonExporter()
            for path in paths:
                body, _ = exporter.from_filename(str(path))
                (out / f"{path.stem}.py").write_text(body)

        rows.append(("nbconvert PythonExporter", timed(nbconvert_all)))

        cold = rows[0][1]
        print(f"\nExport of {args.notebooks} notebooks x {args.cells} cells")
        print(f"{'tool':<28}{'seconds':>9}{'notebooks/s':>13}{'vs nbprod cold':>16}")
        for name, seconds in rows:
            rate = args.notebooks / seconds
            print(f"{name:<28}{seconds:>9.2f}{rate:>13.1f}{seconds / cold:>15.2f}x")
        ratio = rows[1][1] / cold
        verdict = "met" if ratio < 0.25 else "NOT met"
        print(
            f"\nno-change re-export / cold export = {ratio:.3f} (target < 0.25: {verdict})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
