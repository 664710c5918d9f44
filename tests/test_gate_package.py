"""The ``package`` gate step: the wheel, installed in a fresh venv with only its metadata.

Real builds, real venvs and real pip (slow: a few of them only). The venvs are
kept in one folder for the session (``NBPROD_VENV_CACHE``), keyed on the
declared dependencies as in a project's ``.nbprod/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.ship import code, make_project, nbprod, refs
from nbformat import write
from nbformat.v4 import new_markdown_cell, new_notebook

from nbprod.config import load_config
from nbprod.gate import gate_steps, run_gate

# a fresh venv with pandas and scikit-learn takes minutes on a loaded 2-core machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

HATCH = """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/shop"]
"""


@pytest.fixture(scope="module")
def venv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("package-venvs")


def test_package_step_is_opt_in_and_runs_alone() -> None:
    config = load_config(Path(__file__).parent.parent / "examples" / "churn")
    assert "package" not in gate_steps.select(config=config)
    assert gate_steps.select(("package",), config=config) == ["package"]


def test_example_installs_imports_and_passes_its_tests_from_the_wheel(
    churn_project: Path, venv_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBPROD_VENV_CACHE", str(venv_cache))
    assert nbprod(churn_project, "export").exit_code == 0
    config = load_config(churn_project)

    report = run_gate(config, only=("deps", "package"), save=False)

    deps, package = report.steps
    assert deps.status == "passed", [f.message for f in deps.findings]
    assert not deps.problems, "the example declares exactly what it imports"
    assert package.status == "passed", [f.message for f in package.problems]
    assert package.summary.startswith(
        "3/3 modules import from the wheel, 7/7 tests pass"
    )
    imported = {f.name for f in package.findings if f.code == "package" and f.name}
    assert {"churn", "churn.features", "churn.train"} <= imported
    # the tests ran against the installed package: src/ was never on the path
    (venv,) = [p for p in venv_cache.iterdir() if p.is_dir()]
    site = next(venv.glob("lib/python*/site-packages"))
    assert (site / "churn" / "train.py").is_file()
    assert "numpy>=1.24" in (venv / "requirements.txt").read_text()
    # and nothing was built inside the project
    assert not (churn_project / "build").exists()
    assert not list(churn_project.rglob("*.egg-info"))


def test_missing_dependency_fails_the_package_step_before_the_push(
    tmp_path: Path, venv_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBPROD_VENV_CACHE", str(venv_cache))
    pyproject = (
        HATCH
        + '[project]\nname = "shop"\nversion = "0.1.0"\ndependencies = []\n\n'
        + '[tool.nbprod]\npackage = "shop"\nsource = "src"\n\n'
        + '[tool.nbprod.gate]\nlint = ["black", "ruff"]\npackage = true\n'
    )
    root, origin = make_project(tmp_path, pyproject)
    # an import by name: no static reading sees it, only an install does
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Model"),
            code(
                "import importlib\n\n"
                'linear_model = importlib.import_module("sklearn.linear_model")',
                "export",
            ),
        ]
    )
    write(nb, root / "notebooks" / "model.ipynb")
    before = refs(origin)

    result = nbprod(root, "push", "-m", "Add the model")

    assert result.exit_code == 1, result.output
    assert refs(origin) == before, "nothing may be pushed"
    text = result.stdout
    assert "package" in text and "failed" in text
    assert (
        "src/shop/model.py: shop.model failed: `import shop.model` fails where the "
        "package is installed: ModuleNotFoundError: No module named 'sklearn'"
    ) in text
    assert "(the wheel does not declare scikit-learn)" in text
    assert 'hint: declare it: add "scikit-learn>=' in text
    # the other module imports fine from the same wheel
    assert "shop.orders failed" not in text


def test_a_wheel_without_the_package_says_why(
    tmp_path: Path, venv_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBPROD_VENV_CACHE", str(venv_cache))
    pyproject = (
        HATCH.replace("src/shop", "src/elsewhere")
        + '[project]\nname = "shop"\nversion = "0.1.0"\n\n'
        + '[tool.nbprod]\npackage = "shop"\nsource = "src"\n'
    )
    root, _ = make_project(tmp_path, pyproject)
    (root / "src" / "elsewhere").mkdir()
    (root / "src" / "elsewhere" / "__init__.py").write_text("")

    report = run_gate(load_config(root), only=("package",), save=False)

    (step,) = report.steps
    assert step.status == "failed"
    (finding,) = step.findings
    assert "holds none of the package shop's files" in finding.message
    assert finding.hint and "[tool.hatch.build.targets.wheel]" in finding.hint
