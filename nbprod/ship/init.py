"""``nbprod init``: set a folder up as an nbprod project, without touching what is there.

Each piece is added only when it is missing: the ``[tool.nbprod]`` table is
appended to an existing pyproject as text (never rewritten), ignore lines are
appended, files that exist are left alone. So running init twice changes
nothing the second time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod._version import __version__
from nbprod.config import ProjectConfig, identifier, load_config, read_toml
from nbprod.errors import NbprodError
from nbprod.files import write_atomic
from nbprod.gitops.git import Git
from nbprod.gitops.strip import FILTER_LINE, install_strip_filter

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
MANUAL = "manual"

PRE_COMMIT_HOOK = """\
  - repo: local
    hooks:
      - id: nbprod-export-check
        name: generated modules and tests match the notebooks
        entry: nbprod export --check
        language: system
        pass_filenames: false
        files: \\.(ipynb|py)$
"""

PRE_COMMIT_CONFIG = f"""\
# nbprod: refuse a commit whose generated modules and tests are out of date
repos:
{PRE_COMMIT_HOOK}"""

WORKFLOW = """\
# nbprod: the quality gate (sync, lint, tests, smoke runs) on every push
name: nbprod
on:
  push:
  pull_request:
jobs:
  gate:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: {workdir}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      # the project as a package (its dependencies from pyproject.toml), the test
      # dependencies it declares (the `{extra}` extra), pytest for the gate, and
      # the nbprod that wrote this file
      - run: python -m pip install -e ".[{extra}]" pytest "nbprod=={version}"
      - run: nbprod check
      # the wheel, installed in a fresh venv with only its declared dependencies
      - run: nbprod check --only package
"""

#: the install step of the workflows earlier versions of nbprod wrote: it never
#: installed the project, so its tests and smoke runs could not import its deps
OLD_INSTALL_STEP = "run: pip install nbprod pytest"

#: extras that hold test dependencies, by convention, in the order looked for
TEST_EXTRAS = ("test", "tests", "testing", "dev")


def workflow_text(root: Path, workdir: str) -> str:
    """The CI workflow for the project at ``root`` (``workdir``: from the repository root).

    It installs the project itself (``pip install -e``), with the extra of
    ``[project.optional-dependencies]`` that holds its test dependencies
    (``test`` when none is declared yet: pip only warns about a missing
    extra, and the line stays right once one is added), and nbprod pinned to
    the version writing it, so CI gates with the nbprod the project was made with.
    """
    data = read_toml(root / "pyproject.toml")
    declared = data.get("project", {}).get("optional-dependencies", {})
    extra = next((name for name in TEST_EXTRAS if name in declared), "test")
    return WORKFLOW.format(workdir=workdir or ".", extra=extra, version=__version__)


@dataclass
class InitAction:
    """One thing init did (or found already done)."""

    path: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the action as a JSON-ready mapping."""
        return {"path": self.path, "status": self.status, "detail": self.detail}


@dataclass
class InitResult:
    """What ``nbprod init`` did, item by item."""

    root: Path
    actions: list[InitAction] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when anything was created or updated."""
        return any(a.status in (CREATED, UPDATED) for a in self.actions)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready mapping."""
        return {
            "root": str(self.root),
            "changed": self.changed,
            "actions": [a.to_dict() for a in self.actions],
        }


def _nbprod_table(folder: Path, package: str) -> tuple[str, str]:
    """The ``[tool.nbprod]`` text for ``folder``, and its source folder."""
    flat = (folder / package / "__init__.py").is_file()
    source = "" if flat else "src"
    root_notebooks = any(folder.glob("*.ipynb")) and not (folder / "notebooks").is_dir()
    notebooks = "." if root_notebooks else "notebooks"
    table = f"""\
[tool.nbprod]
package = "{package}"
source = "{source}"
notebooks = "{notebooks}"
tests = "tests"
runs = "runs"

[tool.nbprod.gate]
lint = ["black", "ruff"]
# notebooks to run with small parameters before every push, e.g.
# smoke = {{ "notebooks/train.ipynb" = {{ n_rows = 200 }} }}

[tool.nbprod.push]
remote = "origin"
strip_outputs = true
"""
    return table, source


def _ensure_pyproject(
    folder: Path, package: str | None, actions: list[InitAction]
) -> None:
    path = folder / "pyproject.toml"
    if path.is_file():
        data = read_toml(path)
        if "nbprod" in data.get("tool", {}):
            actions.append(
                InitAction("pyproject.toml", UNCHANGED, "[tool.nbprod] present")
            )
            return
        name = package or identifier(
            str(data.get("project", {}).get("name", folder.name))
        )
        table, _ = _nbprod_table(folder, name)
        text = path.read_text("utf-8")
        sep = (
            ""
            if not text or text.endswith("\n\n")
            else ("\n" if text.endswith("\n") else "\n\n")
        )
        write_atomic(path, text + sep + table)
        actions.append(InitAction("pyproject.toml", UPDATED, "added [tool.nbprod]"))
        return
    name = package or identifier(folder.name)
    table, source = _nbprod_table(folder, name)
    pythonpath = f'\n[tool.pytest.ini_options]\npythonpath = ["{source or "."}"]\n'
    # a distribution name pip accepts ("Churn Model" is not one): the workflow
    # installs the project
    dist = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-._") or name
    project = f"""\
[project]
name = "{dist}"
version = "0.1.0"
requires-python = ">=3.10"

"""
    write_atomic(path, project + table + pythonpath)
    actions.append(InitAction("pyproject.toml", CREATED, "with [tool.nbprod]"))


def _ensure_project_metadata(config: ProjectConfig, actions: list[InitAction]) -> None:
    """Give a pyproject without ``[project]`` a minimal one, so the package installs.

    The table names the project, a first version, the running Python and the
    dependencies the shipped code imports (nbprod's dependency check).
    """
    from nbprod.gate.deps import add_dependencies, minimal_project

    if any(a.path == "pyproject.toml" and a.status == CREATED for a in actions):
        # the [project] init just wrote: with the dependencies found
        added, _ = add_dependencies(config)
        if added.added or added.added_tests:
            names = ", ".join(added.added + added.added_tests)
            actions.append(InitAction("pyproject.toml", UPDATED, f"declared {names}"))
        return
    text = minimal_project(config)
    if text is None:
        return
    write_atomic(config.root / "pyproject.toml", text)
    actions.append(
        InitAction(
            "pyproject.toml",
            UPDATED,
            "added a minimal [project] (name, version, requires-python, dependencies)",
        )
    )


def _ensure_gitignore(
    path: Path, lines: list[str], actions: list[InitAction], name: str
) -> None:
    text = path.read_text("utf-8") if path.is_file() else ""
    present = {line.strip().strip("/") for line in text.splitlines()}
    missing = [line for line in lines if line.strip("/") not in present]
    if not missing:
        actions.append(InitAction(name, UNCHANGED))
        return
    sep = "" if not text or text.endswith("\n") else "\n"
    header = "# nbprod: its state, run outputs and caches\n"
    write_atomic(path, text + sep + header + "\n".join(missing) + "\n")
    actions.append(
        InitAction(name, UPDATED if text else CREATED, "ignores " + ", ".join(missing))
    )


def _ensure_file(path: Path, text: str, name: str, actions: list[InitAction]) -> bool:
    if path.exists():
        return False
    write_atomic(path, text)
    actions.append(InitAction(name, CREATED))
    return True


def init_project(
    folder: Path | str,
    *,
    package: str | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> InitResult:
    """Set ``folder`` up as an nbprod project.

    Adds, when missing: a git repository (``git init``), ``[tool.nbprod]`` in
    ``pyproject.toml`` (a minimal pyproject when there is none), the package
    and tests folders, ``.nbprod/`` and the runs folder in ``.gitignore``, the
    nbstripout filter (``.gitattributes``), a ``.pre-commit-config.yaml`` hook
    running ``nbprod export --check``, and a CI workflow running
    ``nbprod check``.

    Parameters
    ----------
    folder : Path or str
        The project folder.
    package : str, optional
        Import name of the package; default: the project's name.
    on_progress : callable, optional
        Called with a short line per step.

    Returns
    -------
    InitResult
        Each item with ``created``, ``updated``, ``unchanged`` or ``manual``.

    Raises
    ------
    NbprodError
        When the folder does not exist or the package name is not an identifier.
    GitError
        When git or nbstripout fail.
    """
    root = Path(folder).resolve()
    if not root.is_dir():
        raise NbprodError(f"{folder} is not a folder")
    if package is not None and not all(p.isidentifier() for p in package.split(".")):
        raise NbprodError(f"{package!r} is not a Python import name")
    result = InitResult(root)
    actions = result.actions

    def progress(text: str) -> None:
        if on_progress:
            on_progress(text)

    progress("git repository")
    git = Git(root)
    top = git.toplevel()
    if top is None:
        git.run("init", "--quiet")
        top = git.toplevel() or root
        actions.append(InitAction(".git", CREATED, "git init"))
    else:
        actions.append(InitAction(".git", UNCHANGED, f"repository at {top}"))

    progress("pyproject.toml")
    _ensure_pyproject(root, package, actions)
    config = load_config(root)
    _ensure_project_metadata(config, actions)

    progress("folders")
    for folder_path in (
        config.package_dir,
        config.tests_dir,
        config.root / config.notebooks,
    ):
        rel = config.relpath(folder_path)
        if folder_path.is_dir():
            actions.append(InitAction(rel + "/", UNCHANGED))
        else:
            folder_path.mkdir(parents=True)
            actions.append(InitAction(rel + "/", CREATED))

    progress(".gitignore")
    ignore = [
        ".nbprod/",
        f"{config.runs.strip('/')}/",
        "__pycache__/",
        ".ipynb_checkpoints/",
    ]
    _ensure_gitignore(root / ".gitignore", ignore, actions, ".gitignore")

    if config.push.strip_outputs:
        progress("nbstripout filter")
        attributes = root / ".gitattributes"
        before = attributes.read_bytes() if attributes.is_file() else None
        changed = install_strip_filter(git, attributes)
        after = attributes.read_bytes() if attributes.is_file() else None
        if not changed:
            status = UNCHANGED
        else:
            status = CREATED if before is None and after is not None else UPDATED
        actions.append(
            InitAction(".gitattributes", status, FILTER_LINE + " (nbstripout)")
        )

    progress("pre-commit hook")
    hook_path = root / ".pre-commit-config.yaml"
    if not _ensure_file(
        hook_path, PRE_COMMIT_CONFIG, ".pre-commit-config.yaml", actions
    ):
        if "nbprod export --check" in hook_path.read_text("utf-8"):
            actions.append(InitAction(".pre-commit-config.yaml", UNCHANGED))
        else:
            actions.append(
                InitAction(
                    ".pre-commit-config.yaml",
                    MANUAL,
                    "exists without the nbprod hook; add under `repos:`\n"
                    + PRE_COMMIT_HOOK,
                )
            )

    progress("CI workflow")
    try:
        workdir = root.relative_to(top.resolve()).as_posix()
    except ValueError:
        workdir = "."
    workflow = top / ".github" / "workflows" / "nbprod.yml"
    name = os_relpath(workflow, root)
    text = workflow_text(root, workdir)
    if _ensure_file(workflow, text, name, actions):
        pass
    elif OLD_INSTALL_STEP in workflow.read_text("utf-8"):
        # never rewritten (it may hold the user's own steps): say what to change
        install = next(line for line in text.splitlines() if "pip install" in line)
        actions.append(
            InitAction(
                name,
                MANUAL,
                "its install step leaves the project's own dependencies out, so "
                f"the gate's tests cannot import them; replace it with\n{install}",
            )
        )
    else:
        actions.append(InitAction(name, UNCHANGED))
    return result


def os_relpath(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` (with ``..`` when outside it), POSIX style."""
    return Path(os.path.relpath(path, start)).as_posix()
