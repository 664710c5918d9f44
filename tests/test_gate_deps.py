"""The ``deps`` gate step and ``nbprod deps``: imports of the shipped code vs pyproject.toml."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import nbformat
from helpers.ship import code, make_project, nbprod
from nbformat.v4 import new_markdown_cell, new_notebook
from packaging.version import Version

from nbprod.config import load_config
from nbprod.gate import run_gate

SKLEARN = Version(version("scikit-learn")).public
YAML = Version(version("PyYAML")).public

PYPROJECT = """\
# The shop's metadata: keep the comments
[project]
name = "shop"
version = "0.1.0"
dependencies = [
    "pandas>=2",  # data frames
]

[tool.nbprod]
package = "shop"
source = "src"

[tool.nbprod.gate]
lint = ["black", "ruff"]
"""


def write_scaler_notebook(root: Path) -> None:
    """Imports in an untagged first cell (as data scientists write them), used by export and test cells."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Scaling"),
            code(
                "import pandas as pd\nimport yaml\n"
                "from sklearn.preprocessing import StandardScaler"
            ),
            code(
                "def scale(frame: pd.DataFrame) -> pd.DataFrame:\n"
                '    """Standardise every column."""\n'
                "    values = StandardScaler().fit_transform(frame)\n"
                "    return pd.DataFrame(values, columns=frame.columns)",
                "export",
            ),
            code(
                'frame = scale(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))\n'
                'assert yaml.safe_load("a: 1") == {"a": 1}\n'
                'assert abs(frame["a"].mean()) < 1e-9',
                "test",
            ),
        ]
    )
    path = root / "notebooks" / "scaling.ipynb"
    nbformat.write(nb, path)


def scaler_project(tmp_path: Path, pyproject: str = PYPROJECT) -> Path:
    root, _ = make_project(tmp_path, pyproject)
    write_scaler_notebook(root)
    assert nbprod(root, "export").exit_code == 0
    return root


def test_undeclared_import_is_a_finding_with_its_cell_and_distribution(
    tmp_path: Path,
) -> None:
    root = scaler_project(tmp_path)

    report = run_gate(load_config(root), only=("deps",), save=False)

    (step,) = report.steps
    assert step.status == "failed"
    errors = [f for f in step.findings if f.severity == "error"]
    by_name = {f.name: f for f in errors}
    assert set(by_name) == {"scikit-learn", "PyYAML"}
    sklearn = by_name["scikit-learn"]
    # the cell that holds the import: the untagged imports cell, third cell, line 3
    assert (sklearn.path, sklearn.cell, sklearn.line) == (
        "notebooks/scaling.ipynb",
        2,
        3,
    )
    module = (root / "src/shop/scaling.py").read_text().splitlines()
    line = module.index("from sklearn.preprocessing import StandardScaler") + 1
    assert f"src/shop/scaling.py:{line}" in sklearn.message
    assert "`sklearn.preprocessing` (from the distribution scikit-learn)" in (
        sklearn.message
    )
    assert "not in [project].dependencies" in sklearn.message
    assert sklearn.hint == f"run `nbprod deps --add` (adds scikit-learn>={SKLEARN})"
    # yaml is imported by the tests only: it belongs to a test group
    assert "tests/test_scaling.py" in by_name["PyYAML"].message
    assert "a test group" in by_name["PyYAML"].message
    assert step.summary == "2 import(s) not declared"

    text = nbprod(root, "check", "--only", "deps").stdout
    assert "notebooks/scaling.ipynb:cell_2:3: `sklearn.preprocessing`" in text


def test_deps_add_fixes_it_keeping_formatting_and_comments(tmp_path: Path) -> None:
    root = scaler_project(tmp_path)
    pyproject = root / "pyproject.toml"
    before = pyproject.read_text()

    dry = nbprod(root, "deps", "--add", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert pyproject.read_text() == before
    assert f'+    "scikit-learn>={SKLEARN}",' in dry.stdout
    assert f"Would add to [project].dependencies: scikit-learn>={SKLEARN}" in (
        dry.stdout
    )

    added = nbprod(root, "deps", "--add")

    assert added.exit_code == 0, added.output
    assert f"Added to [project].dependencies: scikit-learn>={SKLEARN}" in added.stdout
    assert f"Added to the test group test: PyYAML>={YAML}" in added.stdout
    assert pyproject.read_text() == before.replace(
        '    "pandas>=2",  # data frames\n]\n',
        '    "pandas>=2",  # data frames\n'
        f'    "scikit-learn>={SKLEARN}",\n]\n\n'
        f'[project.optional-dependencies]\ntest = [\n    "PyYAML>={YAML}",\n]\n',
    )
    check = nbprod(root, "deps", "--json")
    assert check.exit_code == 0, check.output
    assert json.loads(check.stdout)["missing"] == []
    report = run_gate(load_config(root), only=("deps",), save=False)
    assert report.ok and report.steps[0].summary == "3 third-party import(s) declared"
    # a second --add has nothing to do and leaves the file alone
    after = pyproject.read_text()
    assert "Nothing to add" in nbprod(root, "deps", "--add").stdout
    assert pyproject.read_text() == after


def test_unused_declared_dependency_is_a_warning(tmp_path: Path) -> None:
    pyproject = PYPROJECT.replace(
        '    "pandas>=2",  # data frames\n',
        '    "pandas>=2",  # data frames\n    "rich>=13",\n'
        "    \"tomli>=2; python_version < '3.0'\",\n",
    )
    root, _ = make_project(tmp_path, pyproject)

    report = run_gate(load_config(root), only=("deps",), save=False)

    (step,) = report.steps
    assert step.status == "passed"
    warnings = [f for f in step.findings if f.severity == "warning"]
    # pandas and rich are imported by nothing; tomli's marker keeps it out here
    assert [w.message.split(" ")[0] for w in warnings] == ["pandas>=2", "rich>=13"]
    assert "nothing in the package or its tests imports it" in warnings[0].message
    assert step.summary == "0 third-party import(s) declared, 2 unused"


def test_project_without_project_table_cannot_be_installed_and_init_adds_one(
    tmp_path: Path,
) -> None:
    pyproject = PYPROJECT[PYPROJECT.index("[tool.nbprod]") :]
    root = scaler_project(tmp_path, "# no metadata yet\n" + pyproject)

    report = run_gate(load_config(root), only=("deps",), save=False)

    first = report.steps[0].findings[0]
    assert report.steps[0].status == "failed"
    assert first.message.startswith(
        "pyproject.toml has no [project] table: the package cannot be installed"
    )
    assert first.hint and "init writes a minimal [project]" in first.hint

    result = nbprod(root, "init", str(root))
    assert result.exit_code == 0, result.output
    assert "added a minimal [project]" in result.stdout
    text = (root / "pyproject.toml").read_text()
    assert text.startswith('# no metadata yet\n\n[project]\nname = "shop"\n')
    assert text.endswith(pyproject)
    project = text[: text.index("[tool.nbprod]")]
    assert f'"scikit-learn>={SKLEARN}",' in project and '"pandas>=' in project
    assert f'[project.optional-dependencies]\ntest = [\n    "PyYAML>={YAML}",' in (
        project
    )
    assert nbprod(root, "deps").exit_code == 0
    # init is idempotent: a second run leaves the [project] alone
    before = (root / "pyproject.toml").read_text()
    assert nbprod(root, "init", str(root)).exit_code == 0
    assert (root / "pyproject.toml").read_text() == before
