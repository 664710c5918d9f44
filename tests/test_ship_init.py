"""``nbprod init``: what it sets up, what it never clobbers, and that twice is once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from helpers.ship import file_hashes, git, nbprod, write_notebook
from helpers.wheel import build_nbprod_wheel, build_wheel

from nbprod._version import __version__
from nbprod.config import load_config, read_toml

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_init_sets_a_plain_folder_up_and_a_second_run_changes_nothing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "Churn Model"
    root.mkdir()

    first = nbprod(root, "init", str(root))

    assert first.exit_code == 0, first.output
    assert "nbprod project ready" in first.output
    assert (root / ".git").is_dir()
    config = load_config(root)
    assert config.configured and config.package == "churn_model"
    assert config.package_dir.is_dir() and config.tests_dir.is_dir()
    ignored = (root / ".gitignore").read_text().splitlines()
    assert ".nbprod/" in ignored and "runs/" in ignored
    assert "*.ipynb filter=nbstripout" in (root / ".gitattributes").read_text()
    clean = git(root, "config", "--get", "filter.nbstripout.clean")
    # nbstripout behind nbprod's import deferral, keeping cell ids
    assert "-m nbprod.gitops.nbstripout_filter --keep-id" in clean
    hook = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    (entry,) = [h["entry"] for r in hook["repos"] for h in r["hooks"]]
    assert entry == "nbprod export --check"
    workflow = yaml.safe_load((root / ".github/workflows/nbprod.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    assert {"run": "nbprod check"} in steps

    before = file_hashes(root)
    second = nbprod(root, "init", str(root), "--json")

    assert second.exit_code == 0, second.output
    data = json.loads(second.stdout)
    assert data["changed"] is False
    assert {a["status"] for a in data["actions"]} == {"unchanged"}
    assert file_hashes(root) == before


def test_init_keeps_an_existing_pyproject_and_gitignore(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")
    pyproject = '[project]\nname = "Shop-Data"\n\n[tool.black]\nline-length = 100\n'
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / ".gitignore").write_text("*.csv\nruns\n")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")

    result = nbprod(tmp_path, "init", str(tmp_path))

    assert result.exit_code == 0, result.output
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(pyproject)
    data = read_toml(tmp_path / "pyproject.toml")
    assert data["tool"]["black"] == {"line-length": 100}
    assert data["tool"]["nbprod"]["package"] == "shop_data"
    ignore = (tmp_path / ".gitignore").read_text()
    assert ignore.startswith("*.csv\nruns\n") and ignore.count("runs") == 1
    # a pre-commit file of the user's own is not rewritten: init says what to add
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    assert "manual" in result.output and "nbprod export --check" in result.output


def test_init_in_a_project_inside_a_repository(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")
    project = tmp_path / "analysis"
    project.mkdir()

    result = nbprod(project, "init", str(project), "--package", "sales")

    assert result.exit_code == 0, result.output
    assert not (project / ".git").exists()
    workflow = yaml.safe_load((tmp_path / ".github/workflows/nbprod.yml").read_text())
    assert (
        workflow["jobs"]["gate"]["defaults"]["run"]["working-directory"] == "analysis"
    )
    assert load_config(project).package == "sales"
    bad = nbprod(project, "init", str(project), "--package", "not-a-name")
    assert bad.exit_code == 2 and "not a Python import name" in bad.output


def test_init_then_push_ships_a_new_project(tmp_path: Path) -> None:
    root, origin = tmp_path / "shop", tmp_path / "origin.git"
    root.mkdir()
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    git(root, "init", "--quiet")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    git(root, "remote", "add", "origin", str(origin))
    write_notebook(root)
    assert nbprod(root, "init", str(root)).exit_code == 0

    result = nbprod(root, "push", "-m", "First version")

    assert result.exit_code == 0, result.output
    shipped = set(git(origin, "ls-tree", "-r", "--name-only", "main").split())
    assert shipped == {
        ".gitattributes",
        ".github/workflows/nbprod.yml",
        ".gitignore",
        ".pre-commit-config.yaml",
        "notebooks/orders.ipynb",
        "pyproject.toml",
        "src/shop/__init__.py",
        "src/shop/orders.py",
        "tests/test_orders.py",
    }
    assert '"outputs": []' in git(origin, "show", "main:notebooks/orders.ipynb")
    assert git(root, "status", "--porcelain") == ""


def _fresh_venv(folder: Path) -> Path:
    """A new venv that sees this interpreter's packages, except nbprod.

    Installing nbprod's ~100 dependencies takes a minute; the venv gets them
    through a path file pointing at a folder of links to every installed
    distribution but nbprod's own, so pip finds them "already satisfied" and
    installs only what the workflow brings: nbprod from its wheel, the
    project and the project's own dependencies.
    """
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True
    )
    links = folder / "shared-packages"
    links.mkdir()
    for site in dict.fromkeys(
        sysconfig.get_paths()[key] for key in ("purelib", "platlib")
    ):
        for entry in Path(site).iterdir():
            if "nbprod" in entry.name.lower() or entry.suffix == ".pth":
                continue
            target = links / entry.name
            if not target.exists():
                target.symlink_to(entry)
    (venv_site,) = folder.glob("lib/python*/site-packages")
    (venv_site / "shared-packages.pth").write_text(f"{links}\n")
    return folder


SHOP_PYPROJECT = """\
[project]
name = "shop"
version = "0.1.0"
dependencies = ["shopmath"]

[project.optional-dependencies]
test = ["shopfixtures"]

[tool.nbprod]
package = "shop"
source = "src"

[tool.nbprod.gate]
lint = ["ruff"]
smoke = { "notebooks/orders.ipynb" = { n_rows = 2 } }
"""


@pytest.mark.slow
@pytest.mark.timeout(
    900
)  # about 40 s; pip and the gate on a loaded machine take longer
def test_the_ci_workflow_init_writes_passes_in_a_fresh_environment(
    tmp_path: Path,
) -> None:
    """Every `run:` step of the workflow, in a new venv with nbprod's wheel: the
    project's own and test dependencies are installed, and the gate passes."""
    wheels = tmp_path / "wheels"
    build_nbprod_wheel(REPO_ROOT, wheels)
    # the project's dependencies: one its code needs, one only its tests need
    build_wheel(
        wheels,
        "shopmath",
        "1.0",
        {"shopmath.py": b"def mul(a, b):\n    return a * b\n"},
    )
    build_wheel(wheels, "shopfixtures", "1.0", {"shopfixtures.py": b"QTY = 2\n"})
    repo = tmp_path / "repo"
    root = repo / "shop"
    root.mkdir(parents=True)
    git(repo, "init", "--quiet")
    (root / "pyproject.toml").write_text(SHOP_PYPROJECT)
    write_notebook(
        root,
        export="import shopmath\n\n\ndef total(qty, price):\n    return shopmath.mul(qty, price)\n",
        test="from shopfixtures import QTY\n\nassert total(QTY, 3.0) == 6.0\n",
    )
    assert nbprod(root, "init", str(root)).exit_code == 0
    assert nbprod(root, "export").exit_code == 0
    workflow = yaml.safe_load((repo / ".github/workflows/nbprod.yml").read_text())
    job = workflow["jobs"]["gate"]
    steps = [step["run"] for step in job["steps"] if "run" in step]
    assert any(f"nbprod=={__version__}" in step for step in steps)
    venv = _fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_FIND_LINKS"] = f"{wheels} {env.get('PIP_FIND_LINKS', '')}".strip()

    for step in steps:
        done = subprocess.run(
            ["bash", "-e", "-c", step],
            cwd=repo / job["defaults"]["run"]["working-directory"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{step}:\n{done.stdout}\n{done.stderr}"

    assert "Gate passed" in done.stdout, done.stdout
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import nbprod, shop; print(nbprod.__file__, shop.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # nbprod from its wheel in the venv; the project installed editable from its folder
    assert where[0].startswith(str(venv)) and where[1] == str(
        root / "src/shop/__init__.py"
    )


def test_init_names_the_old_install_step_it_does_not_rewrite(tmp_path: Path) -> None:
    root = tmp_path / "Shop Data"
    root.mkdir()
    git(root, "init", "--quiet")
    workflow = root / ".github" / "workflows" / "nbprod.yml"
    workflow.parent.mkdir(parents=True)
    old = "jobs:\n  gate:\n    steps:\n      - run: pip install nbprod pytest\n"
    workflow.write_text(old)

    result = nbprod(root, "init", str(root), "--json")

    assert result.exit_code == 0, result.output
    (action,) = [
        a
        for a in json.loads(result.stdout)["actions"]
        if a["path"].endswith("nbprod.yml")
    ]
    assert action["status"] == "manual"
    assert (
        f'pip install -e ".[test]" pytest "nbprod=={__version__}"' in action["detail"]
    )
    assert workflow.read_text() == old
    # the pyproject init writes names a distribution pip can install
    assert read_toml(root / "pyproject.toml")["project"]["name"] == "Shop-Data"
