"""``nbprod init``: what it sets up, what it never clobbers, and that twice is once."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from helpers.ship import file_hashes, git, nbprod, write_notebook

from nbprod.config import load_config, read_toml


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
    assert "nbstripout" in clean and "--keep-id" in clean
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
