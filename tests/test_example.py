"""The example project (examples/churn) goes from notebooks to a tested package.

The whole path runs in fresh processes, as a user would run it: ``nbprod export``
on a copy of the example, an import of the generated package in a new
interpreter, and pytest on the generated tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

CHURN_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "churn"
NOTEBOOKS = sorted((CHURN_EXAMPLE / "notebooks").glob("*.ipynb"))
TAGS = {"export", "test", "parameters"}


def run(
    args: list[str], cwd: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run a command with the project's src/ importable; fail with its output."""
    env = dict(os.environ, PYTHONPATH=str(cwd / "src"))
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} exited with {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result


def nbprod_command() -> list[str]:
    """The ``nbprod`` script of the interpreter running the tests."""
    script = Path(sys.executable).with_name("nbprod")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nbprod.cli"]


def test_example_notebooks_are_tagged_and_executed() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_features.ipynb",
        "02_train.ipynb",
        "03_score.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown", f"{path.name}: starts with a title"
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        tags = [set(cell.metadata.get("tags", [])) for cell in code]
        assert all(t <= TAGS for t in tags), f"{path.name}: unknown tags {tags}"
        assert not tags[0], f"{path.name}: the first code cell (imports) is untagged"
        # 03_score is a scoring job: parameters, profiles and metrics, nothing shipped
        expected = (
            {"parameters"} if path.name == "03_score.ipynb" else {"export", "test"}
        )
        assert expected <= set().union(*tags), path.name
        # the committed notebooks show their outputs, in order, without errors
        counts = [cell.execution_count for cell in code]
        assert counts == list(range(1, len(code) + 1)), f"{path.name}: {counts}"
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0].ename}"


@pytest.mark.timeout(600)
def test_example_exports_to_an_importable_package_whose_tests_pass(
    churn_project: Path,
) -> None:
    run([*nbprod_command(), "export"], churn_project)
    # a second look finds everything up to date
    run([*nbprod_command(), "export", "--check"], churn_project)

    package = churn_project / "src" / "churn"
    for name in ("__init__.py", "features.py", "train.py"):
        assert (package / name).is_file(), f"nbprod export did not write {name}"
    for name in ("test_features.py", "test_train.py"):
        assert (churn_project / "tests" / name).is_file(), f"no tests/{name}"

    # a fresh interpreter imports the package with nothing but src/ on the path
    check = (
        "import churn.features as f, churn.train as t\n"
        "df = f.add_features(f.make_customers(300, seed=0))\n"
        "m = t.train_model(df[f.FEATURE_COLUMNS], df[f.TARGET_COLUMN], C=1.0, seed=0)\n"
        "s = t.evaluate(m, df[f.FEATURE_COLUMNS], df[f.TARGET_COLUMN])\n"
        "print(sorted(s), f.__doc__.strip().splitlines()[0])\n"
    )
    imported = run([sys.executable, "-c", check], churn_project)
    assert imported.stdout.startswith(
        "['accuracy', 'auc', 'churn_rate'] Customer features"
    )

    tested = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        churn_project,
    )
    # 4 test cells with asserts in 01_features, 3 in 02_train
    assert re.search(r"\b7 passed\b", tested.stdout), tested.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_example_passes_its_own_quality_gate(churn_project: Path) -> None:
    run([*nbprod_command(), "export"], churn_project)
    result = subprocess.run(
        [*nbprod_command(), "check", "--json"],
        cwd=churn_project,
        capture_output=True,
        text=True,
        timeout=540,
    )
    report = json.loads(result.stdout)
    steps = {step["name"]: step for step in report["steps"]}
    assert set(steps) == {"sync", "deps", "lint", "tests", "smoke", "monitor"}
    # deps: the example declares exactly what it imports, nothing more
    assert steps["deps"]["findings"] == [], steps["deps"]
    for name in ("sync", "deps", "tests", "smoke", "monitor"):
        assert steps[name]["status"] == "passed", steps[name]
    findings = [
        f"{f['path']}:{f['line']}: {f['code']} {f['message']}"
        for f in steps["lint"]["findings"]
    ]
    # the notebooks are the example's source: they are black- and ruff-clean
    assert not [f for f in findings if ".ipynb" in f], findings
    # generated files follow ruff's default rules, isort order included
    assert not findings, findings
    assert report["ok"] is True and result.returncode == 0, result.stderr
