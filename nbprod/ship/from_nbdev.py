"""``nbprod init --from-nbdev``: an nbdev project's settings and implicit tests, moved to nbprod.

nbdev tests a notebook by running every code cell in one namespace; an
assertion that fails fails the notebook. nbprod's tests are pytest tests made
from cells tagged ``test``. The move tags, in each notebook, the cells nbdev's
runner would run that assert something (``assert`` or a ``fastcore.test``
helper), and the cells whose names they need (their setup), and marks the
notebook ``metadata.nbprod.test_state = "shared"`` so test cells that build
on each other run in one test function, in notebook order, as nbdev ran them.

Only tags and metadata change, never a cell's source.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from nbprod.config import (
    NbdevSettings,
    ProjectConfig,
    load_config,
    read_nbdev_settings,
)
from nbprod.errors import NbprodError, Problem
from nbprod.export.analysis import analyze_cell
from nbprod.export.plan import plan_notebook
from nbprod.export.render import HEADER_MARK
from nbprod.files import write_atomic
from nbprod.notebook.cells import (
    SKIP_EXECUTION,
    Cell,
    Role,
    cell_tags,
    classify_cells,
)
from nbprod.notebook.ipython import make_plain
from nbprod.notebook.reader import read_notebook

#: fastcore.test's helpers that check something (``test`` is the generic one)
ASSERTING_CALLS = frozenset(
    {
        "test",
        "test_eq",
        "test_eq_type",
        "test_ne",
        "test_close",
        "test_is",
        "test_shuffled",
        "test_stdout",
        "test_warns",
        "test_fail",
        "test_fig_exists",
        "expect_fail",
    }
)
#: fastcore.test's context managers that fail when no exception is raised
ASSERTING_CONTEXTS = frozenset({"ExceptionExpected", "exception"})

TEST = "test"
SETUP = "setup"
ALREADY = "already tagged"


@dataclass
class CellMove:
    """What the move does with one code cell."""

    index: int
    cell_id: str | None
    #: ``test`` (asserts), ``setup`` (names the tests need), ``already tagged``,
    #: or ``skipped``
    action: str
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the move as a JSON-ready mapping."""
        return {
            "index": self.index,
            "cell_id": self.cell_id,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class NotebookMove:
    """The move of one notebook: cells tagged, cells skipped, and export problems after it."""

    notebook: str
    cells: list[CellMove] = field(default_factory=list)
    #: why the whole notebook is left alone (nbdev does not test it), if it is
    skipped: str = ""
    problems: list[Problem] = field(default_factory=list)
    changed: bool = False

    def count(self, action: str) -> int:
        """How many cells got ``action``."""
        return sum(c.action == action for c in self.cells)

    @property
    def skip_reasons(self) -> dict[str, int]:
        """Skipped cells by reason."""
        reasons: dict[str, int] = {}
        for cell in self.cells:
            if cell.action == "skipped":
                reasons[cell.reason] = reasons.get(cell.reason, 0) + 1
        return reasons

    def to_dict(self) -> dict[str, Any]:
        """Return the move as a JSON-ready mapping."""
        return {
            "notebook": self.notebook,
            "skipped": self.skipped,
            "tests": self.count(TEST),
            "setup": self.count(SETUP),
            "already": self.count(ALREADY),
            "skip_reasons": self.skip_reasons,
            "changed": self.changed,
            "cells": [c.to_dict() for c in self.cells],
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class NbdevMove:
    """What ``nbprod init --from-nbdev`` did (or, with ``dry_run``, would do)."""

    root: Path
    settings: NbdevSettings
    #: the ``[tool.nbprod]`` text appended to pyproject.toml ("" when present already)
    table: str
    dry_run: bool
    notebooks: list[NotebookMove] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the move as a JSON-ready mapping."""
        return {
            "root": str(self.root),
            "settings_from": self.settings.origin,
            "table": self.table,
            "dry_run": self.dry_run,
            "notebooks": [nb.to_dict() for nb in self.notebooks],
        }


#: where the notebooks' tests go when ``tests/`` already holds the project's own
#: pytest files (a package, so ``tests/test_core.py`` and the generated
#: ``tests/notebook_tests/test_core.py`` can both be collected)
OWN_TESTS_FOLDER = "tests/notebook_tests"


def tests_folder(root: Path) -> str:
    """The folder the generated tests go to: ``tests``, unless the project has its own there.

    Many nbdev projects keep hand-written pytest files in ``tests/`` (execnb's
    ``tests/test_shell.py``), whose names are the ones nbprod gives the
    notebooks' tests (``test_<module>.py``). Those files are left alone and the
    notebooks' tests go to :data:`OWN_TESTS_FOLDER` instead.
    """
    folder = root / "tests"
    if (folder / "notebook_tests").is_dir():
        return OWN_TESTS_FOLDER
    for path in sorted(folder.glob("test_*.py")) if folder.is_dir() else ():
        try:
            head = path.read_text("utf-8")[: len(HEADER_MARK)]
        except (OSError, UnicodeDecodeError):
            head = ""
        if head != HEADER_MARK:
            return OWN_TESTS_FOLDER
    return "tests"


def nbdev_table(settings: NbdevSettings, tests: str = "tests") -> str:
    """The ``[tool.nbprod]`` table for an nbdev project, from its settings."""
    gate_tests = (
        "# the project's own tests beside the notebooks'\ntests = [\"tests\"]\n"
        if tests == OWN_TESTS_FOLDER
        else ""
    )
    return f"""\
[tool.nbprod]
# from nbdev's {settings.origin}, by `nbprod init --from-nbdev`
package = "{settings.package}"
source = "{settings.source}"
notebooks = "{settings.nbs_path}"
tests = "{tests}"
runs = "runs"
# imports inside the package are written `from .core import x`, as nbdev does
relative_imports = true

[tool.nbprod.gate]
# nbdev notebooks and modules are seldom black-formatted: list "black" and
# "ruff" here once they are
lint = []
{gate_tests}
[tool.nbprod.push]
# nbdev renders the docs from the notebooks' outputs (and nbdev-clean keeps
# them): no nbstripout filter
strip_outputs = false
"""


def _pytest_table(settings: NbdevSettings) -> str:
    # pytest then imports the package from the work tree, as nbdev's runner did
    return f'\n[tool.pytest.ini_options]\npythonpath = ["{settings.source or "."}"]\n'


def _append(path: Path, text: str) -> None:
    current = path.read_text("utf-8") if path.is_file() else ""
    sep = "" if not current or current.endswith("\n\n") else "\n"
    if current and not current.endswith("\n"):
        sep = "\n\n"
    write_atomic(path, current + sep + text)


def _pyproject_additions(settings: NbdevSettings) -> str:
    """What ``pyproject.toml`` lacks: the nbprod table, pytest's pythonpath."""
    path = settings.root / "pyproject.toml"
    text = path.read_text("utf-8") if path.is_file() else ""
    additions = ""
    if "[tool.nbprod]" not in text:
        additions += nbdev_table(settings, tests_folder(settings.root))
    has_pytest = "[tool.pytest" in text or (settings.root / "pytest.ini").is_file()
    if additions and not has_pytest:
        additions += _pytest_table(settings)
    return additions


# -- which cells nbdev's test runner runs, and which of them assert -------------


def _frontmatter(nb: NotebookNode) -> dict[str, Any]:
    """The notebook's front matter: a raw ``---`` YAML cell, or ``- key: value`` lines."""
    import yaml

    for cell in nb.cells:
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        text = source.strip()
        if cell.cell_type == "raw" and text.startswith("---"):
            try:
                found = yaml.safe_load(text.strip("-\n")) or {}
            except yaml.YAMLError:
                return {}
            return found if isinstance(found, dict) else {}
        if cell.cell_type == "markdown" and text.startswith("# "):
            found = {}
            for line in text.splitlines():
                if line.startswith("- ") and ":" in line:
                    key, _, value = line[2:].partition(":")
                    found[key.strip()] = value.strip()
            return found
        if cell.cell_type == "code":
            return {}
    return {}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "yes", "1")


def _nodes(code: str) -> Iterator[ast.AST]:
    """Every node of the code's syntax tree; none when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return iter(())
    return ast.walk(tree)


def _called_name(call: ast.Call) -> str:
    """The name a call calls: ``f`` of ``f(...)`` and of ``obj.f(...)``, else empty."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def asserts_something(code: str) -> bool:
    """True when the code has an ``assert`` or calls a ``fastcore.test`` check.

    Parameters
    ----------
    code : str
        A cell's plain Python.
    """
    for node in _nodes(code):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call) and _called_name(node) in ASSERTING_CALLS:
            return True
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                expr = item.context_expr
                if isinstance(expr, ast.Call):
                    expr = expr.func
                if isinstance(expr, ast.Name) and expr.id in ASSERTING_CONTEXTS:
                    return True
    return False


#: calls that only show something: a cell made of them changes nothing a test reads
DISPLAY_CALLS = frozenset(
    {"show_doc", "display", "print", "doc", "pprint", "Markdown", "HTML", "render_md"}
)


def changes_state(code: str) -> bool:
    """True when the code may change an object it reads: a call, an attribute or item set.

    ``add_docs(T, ...)``, ``T.x = 1`` or ``@patch def foo(self: T)`` between a
    class and its test changes
    what the test reads without binding a name; nbdev runs such a cell, so the
    move makes it setup. Cells of display calls (``show_doc(T)``) and bare
    expressions change nothing.

    Parameters
    ----------
    code : str
        A cell's plain Python.
    """
    for node in _nodes(code):
        if isinstance(node, ast.Delete):
            return True
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.decorator_list
        ):
            return True  # a decorator runs code: fastcore's @patch adds a method
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in targets):
                return True
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and _called_name(node.value) not in DISPLAY_CALLS
        ):
            return True
    return False


def _skip_reason(
    cell: Cell, raw: NotebookNode, flags: tuple[str, ...], skip_hidden: bool
) -> str:
    """Why nbdev's runner would not run the cell (``""`` when it would)."""
    if not cell.evaluated:
        return "#| eval: false"
    if SKIP_EXECUTION in cell_tags(raw):
        return "tagged skip-execution"
    if "nbdev_export(" in cell.source:
        return "calls nbdev_export"
    for flag in flags:
        if cell.directive(flag) is not None:
            return f"#| {flag} (a tst_flags flag)"
    if skip_hidden and cell.directive("hide") is not None:
        return "#| hide"
    return ""


def _notebook_skip(path: Path, nb: NotebookNode, nbs: Path) -> str:
    """Why nbdev's runner would not test the notebook at all (``""`` when it would)."""
    relative = path.relative_to(nbs) if path.is_relative_to(nbs) else Path(path.name)
    if any(part.startswith(("_", ".")) for part in relative.parts):
        return "its name starts with _ or ."
    if (path.parent / ".notest").exists():
        return "a .notest file is next to it"
    front = _frontmatter(nb)
    if _truthy(front.get("skip_exec", False)):
        return "front matter skip_exec: true"
    return ""


def plan_cells(
    nb: NotebookNode,
    name: str,
    flags: tuple[str, ...] = (),
    *,
    skip_hidden: bool = False,
) -> list[CellMove]:
    """Decide, cell by cell, what the move tags in one notebook.

    Asserting cells become tests. Going up from the last one, a cell that
    binds a name a test (or an earlier setup cell) reads becomes setup, and so
    do cells with ``from x import *`` above a test (their names are unknown,
    ``from fastcore.test import *`` among them). Cells nbdev would skip, and
    cells with IPython syntax (they cannot go into a Python file), stay as
    they are.

    Parameters
    ----------
    nb : NotebookNode
        The notebook.
    name : str
        Its path, for error locations.
    flags : tuple of str
        nbdev's ``tst_flags``: directives that skip a cell.
    skip_hidden : bool
        Leave ``#| hide`` cells untagged too.

    Returns
    -------
    list of CellMove
        One entry per code cell that is not exported, in notebook order.
    """
    cells = classify_cells(nb, name)
    raw_cells = [c for c in nb.cells if c.cell_type == "code"]
    front = _frontmatter(nb)
    default_eval = not (
        "eval" in front and str(front["eval"]).lower() in ("false", "no")
    )
    moves: dict[int, CellMove] = {}
    candidates: list[tuple[Cell, Any, bool, bool]] = []
    for cell, raw in zip(cells, raw_cells, strict=True):
        if cell.role.exported or cell.role is Role.PARAMETERS:
            continue
        move = CellMove(cell.index, cell.cell_id, "skipped")
        moves[cell.index] = move
        if cell.role is Role.TEST:
            move.action = ALREADY
            continue
        reason = _skip_reason(cell, raw, flags, skip_hidden)
        if not reason and not default_eval and cell.directive("eval") is None:
            reason = "front matter eval: false"
        plain = make_plain(cell.source)
        if not reason and (plain.ipython or plain.syntax_error):
            reason = "IPython syntax (cannot be a Python test)"
        if reason:
            move.reason = reason
            continue
        try:
            symbols = analyze_cell(plain.code)
        except SyntaxError:
            move.reason = "not valid Python"
            continue
        asserting = asserts_something(plain.code)
        # a setup cell that awaits at its top level runs in a test function (it
        # does something, so the shared layout runs it at test time)
        candidates.append((cell, symbols, asserting, changes_state(plain.code)))
    needed: set[str] = set()
    seen_test = False
    for cell, symbols, asserting, changing in reversed(candidates):
        move = moves[cell.index]
        if asserting:
            move.action, seen_test = TEST, True
        elif seen_test and (
            needed & symbols.bound
            or (symbols.star_import and not symbols.has_action)
            or (changing and needed & {use.name for use in symbols.uses})
        ):
            move.action = SETUP
        else:
            move.reason = "asserts nothing the tests need"
            continue
        needed |= {use.name for use in symbols.uses}
    # a cell between tests that reads a test's names and asserts nothing is
    # setup only when a later test needs it: left as exploration otherwise
    return [moves[index] for index in sorted(moves)]


def _apply(nb: NotebookNode, moves: list[CellMove]) -> bool:
    """Tag the cells and mark the notebook; True when anything changed."""
    by_index = {m.index: m for m in moves}
    changed = False
    for index, raw in enumerate(nb.cells):
        move = by_index.get(index)
        if move is None or move.action not in (TEST, SETUP):
            continue
        tags = raw.setdefault("metadata", {}).setdefault("tags", [])
        if TEST not in tags:
            tags.append(TEST)
            changed = True
    if any(m.action in (TEST, SETUP, ALREADY) for m in moves):
        meta = nb.metadata.setdefault("nbprod", {})
        if meta.get("test_state") != "shared":
            meta["test_state"] = "shared"
            changed = True
    return changed


def _notebooks(settings: NbdevSettings) -> list[Path]:
    nbs = settings.root / settings.nbs_path
    if not nbs.is_dir():
        raise NbprodError(
            f"nbdev's nbs_path {settings.nbs_path!r} is not a folder in {settings.root}",
            hint="set nbs_path in nbdev's settings to the notebooks folder",
        )
    return sorted(
        p
        for p in nbs.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and not p.is_symlink()
    )


def move_from_nbdev(
    folder: Path | str,
    *,
    dry_run: bool = False,
    skip_hidden: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> NbdevMove:
    """Move an nbdev project to nbprod: settings to ``[tool.nbprod]``, tests to ``test`` tags.

    Parameters
    ----------
    folder : Path or str
        The nbdev project (the folder of its ``settings.ini`` or of the
        ``pyproject.toml`` with ``[tool.nbdev]``).
    dry_run : bool
        Change nothing; return the plan.
    skip_hidden : bool
        Leave ``#| hide`` cells untagged (nbdev runs them).
    on_progress : callable, optional
        Called with a short line per notebook.

    Returns
    -------
    NbdevMove
        The table written and, per notebook, each cell's move and the
        problems the export would report after it.

    Raises
    ------
    NbprodError
        When the folder has no nbdev settings, or a notebook cannot be read.
    """
    root = Path(folder).resolve()
    settings = read_nbdev_settings(root)
    if settings is None:
        raise NbprodError(
            f"{root} has no nbdev settings (settings.ini, or [tool.nbdev] in pyproject.toml)",
            hint="run it in the nbdev project's folder, or set the folder up with a plain init",
            actions=("init",),
        )
    additions = _pyproject_additions(settings)
    result = NbdevMove(root, settings, additions, dry_run)
    # the folder the table says (the one written now, or the user's own)
    tests = tests_folder(root) if additions else load_config(root).tests
    if additions and not dry_run:
        _append(root / "pyproject.toml", additions)
        if tests == OWN_TESTS_FOLDER:
            package = root / tests / "__init__.py"
            if not package.exists():
                package.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(package, "")
    config = ProjectConfig(
        root=root,
        package=settings.package,
        source=settings.source,
        notebooks=settings.nbs_path,
        tests=tests,
        relative_imports=True,
    )
    nbs = root / settings.nbs_path
    for path in _notebooks(settings):
        name = config.relpath(path)
        if on_progress:
            on_progress(name)
        nb = read_notebook(path, require_code=False)
        move = NotebookMove(name)
        result.notebooks.append(move)
        move.skipped = _notebook_skip(path, nb, nbs)
        if move.skipped:
            continue
        move.cells = plan_cells(nb, name, settings.tst_flags, skip_hidden=skip_hidden)
        tagged = copy.deepcopy(nb)
        move.changed = _apply(tagged, move.cells)
        if not any(c.action in (TEST, SETUP, ALREADY) for c in move.cells):
            continue
        # what `nbprod export` will say about the tagged notebook
        plan = plan_notebook(path, config, tagged)
        move.problems = [p for p in plan.problems if p.severity != "note"]
        if move.changed and not dry_run:
            write_atomic(path, _notebook_text(path, tagged))
    return result


def _notebook_text(path: Path, nb: NotebookNode) -> str:
    """The notebook as JSON, indented as the file was (nbdev writes one space)."""
    original = path.read_text("utf-8")
    indent = 1
    for line in original.splitlines()[1:2]:
        indent = len(line) - len(line.lstrip(" ")) or 1
    data = json.loads(nbformat.writes(nb))
    return json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=True) + "\n"
