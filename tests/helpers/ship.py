"""A tiny nbprod project in a real git repository with a local bare ``origin``.

Shared by tests/test_gate.py, tests/test_ship_push.py and tests/test_ship_init.py.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import nbformat
from click.testing import CliRunner, Result
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbprod.cli import main

PYPROJECT = """\
[project]
name = "shop"

[tool.nbprod]
package = "shop"
source = "src"

[tool.nbprod.gate]
lint = ["black", "ruff"]
"""

GITIGNORE = ".nbprod/\nruns/\n__pycache__/\n"

EXPORT = 'def total(qty, price):\n    """Price of an order line."""\n    return qty * price\n'
TEST = "assert total(2, 3.0) == 6.0\n"


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd`` and return its stdout."""
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode:
        raise AssertionError(f"git {args} failed: {proc.stderr}")
    return proc.stdout


def code(source: str, *tags: str, outputs: list | None = None) -> nbformat.NotebookNode:
    # JupyterLab saves cells without a final newline (black on notebooks wants that)
    cell = new_code_cell(source.rstrip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    if outputs:
        cell.outputs = outputs
        cell.execution_count = 1
    return cell


def write_notebook(
    root: Path, export: str = EXPORT, test: str = TEST, name: str = "orders.ipynb"
) -> Path:
    """The project's notebook: an export cell, a test cell, and a cell with output."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Orders"),
            code("n_rows = 10", "parameters"),
            code(export, "export"),
            code(test, "test"),
            code(
                "total(n_rows, 2.0)",
                outputs=[
                    new_output(
                        "execute_result", data={"text/plain": "20.0"}, execution_count=1
                    )
                ],
            ),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = root / "notebooks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def make_project(tmp_path: Path, pyproject: str = PYPROJECT) -> tuple[Path, Path]:
    """A committed, exported, pushed project; returns (work tree, bare origin)."""
    root = tmp_path / "work"
    origin = tmp_path / "origin.git"
    root.mkdir()
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    git(root, "init", "--quiet")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "remote", "add", "origin", str(origin))
    (root / "pyproject.toml").write_text(pyproject)
    (root / ".gitignore").write_text(GITIGNORE)
    write_notebook(root)
    result = nbprod(root, "export")
    assert result.exit_code == 0, result.output
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "start")
    git(root, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    return root, origin


def nbprod(root: Path, *args: str) -> Result:
    """Run the ``nbprod`` command line in-process on the project ``root``."""
    command, *rest = args
    project = [] if command == "init" else ["--project", str(root)]
    return CliRunner().invoke(main, [command, *project, *rest], catch_exceptions=False)


def refs(repo: Path) -> str:
    """Every ref of a repository and its commit."""
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def tree_state(root: Path) -> tuple[str, str, str]:
    """What a failed push must leave alone: status, staged diff, unstaged diff."""
    return (
        git(root, "status", "--porcelain", "--untracked-files=all"),
        git(root, "diff", "--cached"),
        git(root, "diff"),
    )


def file_hashes(root: Path) -> dict[str, str]:
    """The hash of every file under root (git's own folder included)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("index")
    }
