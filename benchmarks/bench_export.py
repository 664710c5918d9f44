"""Export speed: a generated corpus of notebooks, nbprod against the tools people use instead.

First an nbdev-shaped project (18 generated notebooks, about 3,000 exported
lines: ``#| default_exp``, ``#| export``, ``#| exporti``, ``# export``,
``#| hide``, docstrings, classes, tests), exported by ``nbprod export`` and
by ``nbdev-export``, each a fresh process timed from outside (cold and with
no change), beside ``nbprod --help``; every file nbprod wrote is checked to
be what black's safe mode leaves unchanged.

Then the corpus of 100 notebooks of 40 cells each (imports, exported functions and
constants, exploration, tests), written with nbdev directives so that nbdev can
export the same notebooks. Measured side by side in one run:

- ``nbprod export``, cold (nothing exported yet) and again with no change;
- nbdev's ``nb_export`` (when nbdev is installed: ``pip install nbdev``);
- nbconvert's ``PythonExporter`` (the whole notebook to a script, no tags).

Run with ``make bench`` or ``python benchmarks/bench_export.py [--notebooks N] [--cells N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbprod.export.blackcache import CACHE_ENV


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


# -- an nbdev-shaped project ----------------------------------------------------

#: words the generated code is made of, so every notebook reads differently
_NOUNS = [
    "record",
    "batch",
    "column",
    "token",
    "sample",
    "window",
    "feature",
    "label",
    "score",
    "metric",
    "bucket",
    "series",
    "frame",
    "event",
    "field",
]
_VERBS = [
    "parse",
    "clean",
    "merge",
    "split",
    "scale",
    "rank",
    "group",
    "count",
    "filter",
    "encode",
    "decode",
    "align",
    "smooth",
    "sample",
    "summarize",
]


def _function(n: int, k: int) -> str:
    """An exported function in the style nbdev authors write (not black's)."""
    verb, noun = _VERBS[(n + k) % len(_VERBS)], _NOUNS[(n * 3 + k) % len(_NOUNS)]
    name = f"{verb}_{noun}s_{k}"
    return (
        f"def {name}(items:list, key:str='value', limit:int={10 + k}, *, strict:bool=False, default=None)->dict:\n"
        f'    "{verb.capitalize()} the {noun}s in `items` by `key`, keeping at most `limit` of them."\n'
        f"    out = {{}}\n"
        f"    for i,item in enumerate(items):\n"
        f"        if i>=limit: break\n"
        f"        v = item.get(key, default) if isinstance(item,dict) else getattr(item, key, default)\n"
        f"        if v is None and strict: raise ValueError(f'{noun} {{i}} has no {{key!r}}')\n"
        f"        out.setdefault(v, []).append(item)\n"
        f"    return {{k:len(v) for k,v in sorted(out.items(), key=lambda kv: (str(kv[0]), len(kv[1])))}}\n"
    )


def _class(n: int, k: int) -> str:
    noun = _NOUNS[(n + 2 * k) % len(_NOUNS)].capitalize()
    name = f"{noun}Store{k}"
    return (
        f"class {name}:\n"
        f'    "A small store of {noun.lower()}s with a running total (part {n})."\n'
        f"    def __init__(self, name:str, capacity:int=128, items=None):\n"
        f"        self.name,self.capacity = name,capacity\n"
        f"        self.items = list(items or [])\n"
        f"        self.total = 0\n\n"
        f"    def add(self, item, weight:float=1.0):\n"
        f'        "Add `item` with `weight`; the oldest item goes when the store is full."\n'
        f"        if len(self.items)>=self.capacity: self.items.pop(0)\n"
        f"        self.items.append((item,weight))\n"
        f"        self.total += weight\n"
        f"        return self\n\n"
        f"    def top(self, n:int=3):\n"
        f'        "The `n` heaviest items."\n'
        f"        return [i for i,w in sorted(self.items, key=lambda p: p[1], reverse=True)[:n]]\n\n"
        f"    def __len__(self): return len(self.items)\n"
        f"    def __repr__(self): return f'{name}(name={{self.name!r}}, items={{len(self.items)}}, total={{self.total:.2f}})'\n\n"
        f"    @property\n"
        f"    def mean(self):\n"
        f'        "Mean weight of the items (0 when empty)."\n'
        f"        return self.total/len(self.items) if self.items else 0.\n"
    )


def make_nbdev_notebook(number: int) -> nbformat.NotebookNode:
    """One notebook as nbdev projects write them: directives, docstrings, classes, tests."""
    module = f"core{number:02d}" if number % 3 else f"data.part{number:02d}"
    cells = [
        new_markdown_cell(
            f"# Part {number}\n\n> Helpers for part {number} of the pipeline: "
            "parsing, grouping and small stores."
        ),
        new_code_cell(f"#| default_exp {module}"),
        new_code_cell("#| hide\nfrom nbdev.showdoc import *"),
        new_code_cell(
            "#| export\nfrom __future__ import annotations\n"
            "import math, re, json\nfrom collections import defaultdict, Counter\n"
            "from dataclasses import dataclass, field\nfrom pathlib import Path"
        ),
    ]
    for k in range(5):
        cells.append(
            new_markdown_cell(
                f"## {_VERBS[(number + k) % 15].capitalize()}\n\nWhat it does, with an example below."
            )
        )
        directive = "# export" if k == 2 else "#| export"
        cells.append(new_code_cell(f"{directive}\n{_function(number, k)}"))
        verb, noun = _VERBS[(number + k) % 15], _NOUNS[(number * 3 + k) % 15]
        cells.append(
            new_code_cell(
                f"{verb}_{noun}s_{k}([{{'value': 1}}, {{'value': 2}}, {{'value': 1}}])"
            )
        )
        test = new_code_cell(
            f"assert {verb}_{noun}s_{k}([{{'value': 1}}, {{'value': 1}}]) == {{1: 2}}\n"
            f"assert {verb}_{noun}s_{k}([], limit=0) == {{}}"
        )
        test.metadata["tags"] = ["test"]
        cells.append(test)
    for k in range(2):
        cells.append(new_code_cell(f"#| export\n{_class(number, k)}"))
        noun = _NOUNS[(number + 2 * k) % 15].capitalize()
        cells.append(
            new_code_cell(
                f"s = {noun}Store{k}('demo', capacity=2)\ns.add('a', 2).add('b', 1).add('c', 3)\ns"
            )
        )
    cells.append(
        new_code_cell(
            "#| exporti\n"
            "_PATTERN = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')\n"
            "def _names(text:str)->list: return _PATTERN.findall(text)\n"
            "def _load(path:Path)->dict:\n"
            "    with open(path) as f: return json.load(f)\n"
        )
    )
    cells.append(
        new_code_cell(
            "#| export\n@dataclass\nclass Summary:\n"
            '    "Counts of a part, as the report shows them."\n'
            "    name: str\n    counts: dict = field(default_factory=dict)\n"
            "    def add(self, key, n=1): self.counts[key] = self.counts.get(key, 0)+n; return self\n"
            "    def as_json(self)->str: return json.dumps({'name':self.name, 'counts':self.counts}, sort_keys=True, indent=None)\n"
        )
    )
    cells.append(new_code_cell("#| hide\nimport nbdev; nbdev.nbdev_export()"))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def make_nbdev_corpus(root: Path, notebooks: int = 18) -> list[Path]:
    """Write an nbdev-shaped project (``[tool.nbdev]`` and ``[tool.nbprod]``) under ``root``."""
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "nbcorpus"\nversion = "0.0.1"\ndescription = "bench"\n'
        'requires-python = ">=3.10"\n\n'
        '[tool.nbprod]\npackage = "nbcorpus"\nsource = "src"\nnotebooks = "nbs"\n\n'
        '[tool.nbdev]\nlib_path = "nbdev_out/nbcorpus"\nnbs_path = "nbs"\n'
        "custom_sidebar = false\njupyter_hooks = false\n"
    )
    (root / "nbs").mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(notebooks):
        path = root / "nbs" / f"{number:02d}_part{number}.ipynb"
        nbformat.write(make_nbdev_notebook(number), path)
        paths.append(path)
    return paths


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


BIN = Path(sys.executable).parent


#: Every tool runs from bytecode as an installed package does (pip writes the
#: .pyc files of what it installs); a shell with PYTHONDONTWRITEBYTECODE set
#: would otherwise compile nbprod's editable checkout at every start.
CACHED_BYTECODE = {
    k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"
}


def command_time(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run a command in a fresh process; its wall-clock and CPU seconds (user + system).

    CPU time is the fairer figure on a shared machine: other processes stretch
    the wall clock of every tool alike, not the work each one does.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        args, cwd=cwd, env=CACHED_BYTECODE, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(
            f"failed: {args}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best_of_rounds(
    repeat: int, actions: dict[str, Callable[[], tuple[float, float]]]
) -> dict[str, tuple[float, float]]:
    """Each action's fastest (wall, cpu) over ``repeat`` rounds of all of them in turn.

    Rounds, not one action ``repeat`` times then the next: the load of a shared
    machine drifts, and every tool then meets the same drift. Within a round
    the actions run in order (a no-change export follows an export).
    """
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            results[name].append(action())
    return {
        name: (min(r[0] for r in found), min(r[1] for r in found))
        for name, found in results.items()
    }


def identical_to_black(root: Path) -> tuple[int, list[str]]:
    """Check every generated file is what black's safe mode leaves unchanged."""
    import black

    from nbprod.export.render import black_mode

    mode = black_mode(root)
    files = sorted((root / "src").rglob("*.py")) + sorted(
        (root / "tests").rglob("*.py")
    )
    differ = []
    for path in files:
        text = path.read_text("utf-8")
        try:
            black.format_file_contents(text, fast=False, mode=mode)
        except black.NothingChanged:
            continue
        differ.append(str(path.relative_to(root)))
    return len(files), differ


def nbdev_comparison(notebooks: int, repeat: int) -> None:
    """nbprod's CLI against ``nbdev-export`` on an nbdev-shaped project, fresh processes."""
    nbdev = BIN / "nbdev-export"
    nbprod = [str(BIN / "nbprod")]
    work = Path(tempfile.mkdtemp(prefix="nbprod-bench-nbdev-"))
    try:
        make_nbdev_corpus(work, notebooks)

        format_cache = Path(os.environ[CACHE_ENV])

        def cold_nbprod(cache: bool = False) -> tuple[float, float]:
            for folder in ("src", "tests", ".nbprod"):
                shutil.rmtree(work / folder, ignore_errors=True)
            if not cache:
                shutil.rmtree(format_cache, ignore_errors=True)
            return command_time([*nbprod, "export"], work)

        def cold_nbdev() -> tuple[float, float]:
            shutil.rmtree(work / "nbdev_out", ignore_errors=True)
            return command_time([str(nbdev)], work)

        actions: dict[str, Callable[[], tuple[float, float]]] = {}
        if nbdev.exists():
            actions["nbdev-export (cold)"] = cold_nbdev
            actions["nbdev-export (again, no change)"] = lambda: command_time(
                [str(nbdev)], work
            )
        actions["nbprod export (cold)"] = cold_nbprod
        actions["nbprod export (cold, cells formatted before)"] = lambda: cold_nbprod(
            cache=True
        )
        actions["nbprod export (no change)"] = lambda: command_time(
            [*nbprod, "export"], work
        )
        actions["nbprod --help"] = lambda: command_time([*nbprod, "--help"], work)
        actions["python -c pass (interpreter start)"] = lambda: command_time(
            [sys.executable, "-c", "pass"], work
        )
        rows = best_of_rounds(repeat, actions)
        exported = sum(
            len(p.read_text().splitlines()) for p in (work / "src").rglob("*.py")
        )
        checked, differ = identical_to_black(work)
        print(
            f"\nnbdev-shaped project: {notebooks} notebooks, {exported} lines exported "
            f"by nbprod; best of {repeat} rounds; load average {os.getloadavg()[0]:.1f}"
        )
        print(f"{'command':<38}{'wall s':>8}{'cpu s':>8}")
        for name, (wall, cpu) in rows.items():
            print(f"{name:<38}{wall:>8.2f}{cpu:>8.2f}")
        if nbdev.exists():
            for row in (
                "nbprod export (cold)",
                "nbprod export (cold, cells formatted before)",
            ):
                for what in ("wall", "cpu"):
                    i = 0 if what == "wall" else 1
                    ratio = rows[row][i] / rows["nbdev-export (cold)"][i]
                    verdict = "met" if ratio <= 1.0 else "NOT met"
                    print(
                        f"{row} / nbdev-export (cold) ({what}) = {ratio:.2f} (target <= 1.0: {verdict})"
                    )
        for name in ("nbprod --help", "nbprod export (no change)"):
            wall = rows[name][0]
            print(
                f"{name}: {wall:.2f} s (target <= 0.25: {'met' if wall <= 0.25 else 'NOT met'})"
            )
        print(
            f"black safe mode leaves {checked - len(differ)} of {checked} generated files unchanged"
            + (f"; differ: {differ}" if differ else "")
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=100)
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--nbdev-notebooks", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only", choices=["grid", "nbdev"], help="one corpus (default: both)"
    )
    args = parser.parse_args()
    # nbprod keeps black's output per user (nbprod.export.blackcache): here in a
    # folder of the benchmark's own, emptied for every cold export, so "cold"
    # means black formats everything, unless a row says otherwise
    cache = Path(tempfile.mkdtemp(prefix="nbprod-bench-format-"))
    os.environ[CACHE_ENV] = CACHED_BYTECODE[CACHE_ENV] = str(cache)
    try:
        _run(args)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _run(args: argparse.Namespace) -> None:
    if args.only != "grid":
        nbdev_comparison(args.nbdev_notebooks, args.repeat)
    if args.only == "nbdev":
        return

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

        shutil.rmtree(os.environ[CACHE_ENV], ignore_errors=True)
        rows.append(("nbprod export (cold)", timed(nbprod_export)))
        rows.append(("nbprod export (no change)", timed(nbprod_export)))

        try:
            from nbdev.export import nb_export
        except ImportError:
            print("nbdev not installed: skipping it (make bench installs it)")
        else:
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
