"""Migrated nbdev tests run as nbdev's runner ran the cells: in order, in one namespace.

Each notebook is built here in nbdev's layout, moved with ``nbprod init
--from-nbdev``, exported, and its tests run by a real pytest in a subprocess.
Every case below failed with one pytest function per test cell and setup at
module level (the layout before ``nbprod.export.shared``).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from helpers.nbdev import NBDEV_PYPROJECT
from nbformat.v4 import new_code_cell, new_notebook

from nbprod.cli import main

#: a small @patch, written in the notebook (the test needs no fastcore)
PATCH = """\
#| export
def patch(f):
    "Add `f` to the class its first parameter is annotated with."
    cls = next(iter(f.__annotations__.values()))
    setattr(cls, f.__name__, f)
    return f
"""

#: the code cells of the notebook, in order
CELLS = [
    "#| default_exp core",
    PATCH,
    "#| export\ndef scale(x, # the value\n          by=2 # the factor\n         ): return x * by",
    "from mylib.core import *\nimport inspect\nimport pickle",
    # docments-style comments of an exported function stay where they were
    "assert inspect.getsource(scale).splitlines()[1].endswith('# the factor')",
    # a function defined in a test cell, its source read in a later one
    'def double(x):\n    "Twice `x`."\n    return 2 * x\n\nassert double(2) == 4',
    "assert inspect.getsource(double).startswith('def double(x):')",
    # one name, defined three times to show three docstrings: each test sees its own
    'def add(a, b):\n    "The sum."\n    return a + b',
    "assert inspect.getdoc(add) == 'The sum.'",
    'def add(a, b):\n    "Another sum."\n    return b + a',
    "assert inspect.getdoc(add) == 'Another sum.'\nassert 'return b + a' in inspect.getsource(add)",
    # docments-style comments inside a signature survive black
    "def _f(a,      # the first\n       b=True, # the second\n       ) -> int: ...",
    "assert inspect.getsource(_f).splitlines()[1].endswith('# the second')",
    # a class redefined, patched cell after cell
    "class _T:\n    def __init__(self): self.x = 1",
    "@patch\ndef foo(self: _T): return self.x + 1",
    "assert _T().foo() == 2",
    "class _T:\n    def __init__(self): self.x = 10",
    "@patch\ndef foo(self: _T): return self.x * 2",
    "assert _T().foo() == 20\nassert _T.__qualname__ == '_T'",
    # picklable objects defined in tests: once (module level) and twice (in a test)
    "class Point:\n    def __init__(self, x): self.x = x\n    def __eq__(self, o): return self.x == o.x\n\n"
    "pt = Point(3)\nassert pickle.loads(pickle.dumps(pt)) == pt",
    "class Box:\n    def __init__(self, v): self.v = v\n\n"
    "assert pickle.loads(pickle.dumps(Box(1))).v == 1",
    "class Box:\n    def __init__(self, v): self.v = 2 * v\n\n"
    "b = pickle.loads(pickle.dumps(Box(2)))\nassert b.v == 4 and type(b) is Box",
    # variables passed between cells, a setup cell binding again after a test
    "p = 'from a test'\nassert p",
    "p = 'from setup'",
    "assert p == 'from setup'",
    "total = 1\nassert total == 1",
    "total += 1\nassert total == 2",
    # an exported cell binding again a name a test had bound
    "gen = (o for o in range(3))\nassert list(gen) == [0, 1, 2]",
    "#| export\ndef gen(n):\n    return list(range(n))",
    "assert gen(2) == [0, 1]",
    # a multi-line string keeps its value inside a test function
    'expected = """\nline\n  indented"""\nassert expected.splitlines() == ["", "line", "  indented"]',
    # a cell that binds nothing but changes what a test reads
    "class Doc:\n    pass",
    "Doc.__doc__ = 'documented'",
    "assert Doc.__doc__ == 'documented'",
    # setup that awaits at its top level, as a notebook cell may
    "#| export\nasync def fetch():\n    return 1",
    "value = await fetch()",
    "assert value == 1",
    # a builtin the notebook defines again later: the earlier test sees the builtin
    "assert max([1, 3]) == 3",
    "def max(xs):\n    return 0\n\nassert max([1, 3]) == 0",
    # an import binding again a name a test had bound
    "cp = 'a test value'\nassert cp",
    "import copy as cp",
    "assert cp.copy([1]) == [1]",
]


#: at a notebook's top level, locals() is the namespace: a cell reading it
#: runs after every test-time cell above it
NAMESPACE = [
    "#| default_exp ns",
    "import mylib.core",
    "total = 1\nassert total == 1",
    "others = 2\nassert others",
    "assert locals()['total'] == 1 and 'others' in vars()",
]


def write_project(root: Path) -> Path:
    (root / "pyproject.toml").write_text(NBDEV_PYPROJECT)
    (root / "mylib").mkdir()
    (root / "mylib" / "__init__.py").write_text('__version__ = "0.0.1"\n')
    path = root / "nbs" / "00_core.ipynb"
    path.parent.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in CELLS]), path)
    nbformat.write(
        new_notebook(cells=[new_code_cell(s) for s in NAMESPACE]),
        root / "nbs" / "01_ns.ipynb",
    )
    return path


def pytest_run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shared")
    write_project(root)
    moved = CliRunner().invoke(
        main, ["init", "--from-nbdev", str(root)], catch_exceptions=False
    )
    assert moved.exit_code == 0, moved.output
    exported = CliRunner().invoke(
        main, ["export", "--project", str(root)], catch_exceptions=False
    )
    assert exported.exit_code == 0, exported.output
    return root


def test_migrated_tests_see_the_notebooks_namespace(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the notebook passes as nbdev's runner runs it: a kernel, the cells in order
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", str(migrated))
    nb = nbformat.read(migrated / "nbs" / "00_core.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=60, resources={"metadata": {"path": str(migrated / "nbs")}}
    ).execute()
    result = pytest_run(migrated, "-rf")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " failed" not in result.stdout and " passed" in result.stdout


def test_the_tests_are_plain_readable_pytest_code(migrated: Path) -> None:
    text = (migrated / "tests" / "test_core.py").read_text()
    tree = ast.parse(text)
    top = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }
    # defined once: at module level, so getsource and pickling see a module attribute
    assert "double" in top and "Point" in top
    # defined again by another cell: inside the test function, declared global
    assert "add" not in top and "_T" not in top and "Box" not in top
    assert "def add(a, b):" in text and "global " in text
    # nothing hidden in strings, nothing run with exec
    assert "exec(" not in text and "eval(" not in text
    # the multi-line string's continuation lines keep their columns
    assert '\nline\n  indented"""' in text
    # the docments comments are fenced from black, and the file is black-clean
    assert "# fmt: off" in text
    black = subprocess.run(
        [sys.executable, "-m", "black", "--check", "-q", "tests"],
        cwd=migrated,
        capture_output=True,
        text=True,
    )
    assert black.returncode == 0, black.stderr
    ruff = subprocess.run(
        [
            str(Path(sys.executable).parent / "ruff"),
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "E,F,W,I",
            # star imports are nbdev's style; one-line defs and `l` names the cells'
            "--ignore",
            "F403,F405,E501,E701,E741",
            "--",
            "tests",
        ],
        cwd=migrated,
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout


def test_the_module_binding_is_imported_again_after_a_test_shadowed_it(
    migrated: Path,
) -> None:
    text = (migrated / "tests" / "test_core.py").read_text()
    functions = {
        ast.unparse(node.body[-1]): [ast.unparse(n) for n in node.body]
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    # the test binding `gen` is global; the test after nbdev's `def gen` takes it back
    assert functions["assert gen(2) == [0, 1]"] == [
        "global gen",
        "from mylib.core import gen",
        "assert gen(2) == [0, 1]",
    ]
    # the import after a test bound `cp` stays where the notebook had it
    assert functions["assert cp.copy([1]) == [1]"] == [
        "global cp",
        "import copy as cp",
        "assert cp.copy([1]) == [1]",
    ]
    # top-level locals() of a cell is the namespace: globals() in the test
    namespace = (migrated / "tests" / "test_ns.py").read_text()
    assert 'assert globals()["total"] == 1 and "others" in globals()' in namespace
    assert namespace.count("def test_") == 1


def test_each_test_passes_alone_and_spread_over_workers(migrated: Path) -> None:
    text = (migrated / "tests" / "test_core.py").read_text()
    names = [
        node.name
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]
    assert len(names) > 10
    # a test that reads what another bound runs in the same function: alone it passes
    for name in (names[1], names[len(names) // 2], names[-1]):
        alone = pytest_run(migrated, f"tests/test_core.py::{name}")
        assert alone.returncode == 0, alone.stdout
    spread = pytest_run(migrated, "-p", "xdist", "-n", "2")
    assert spread.returncode == 0, spread.stdout
    assert f"{len(names) + 1} passed" in spread.stdout


def test_a_failing_cell_fails_its_test(tmp_path: Path) -> None:
    path = write_project(tmp_path)
    nb = nbformat.read(path, as_version=4)
    index = CELLS.index("assert p == 'from setup'")
    nb.cells[index].source = "assert p == 'from a test'"
    nbformat.write(nb, path)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--from-nbdev", str(tmp_path)]).exit_code == 0
    assert runner.invoke(main, ["export", "--project", str(tmp_path)]).exit_code == 0
    result = pytest_run(tmp_path)
    assert result.returncode == 1 and "1 failed" in result.stdout, result.stdout
    assert "assert p == 'from a test'" in result.stdout.replace('"', "'")


def test_multi_line_strings_keep_their_value_in_plain_projects(tmp_path: Path) -> None:
    # not an nbdev project: a test cell's string is no longer indented by export
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "0.1"\n\n[tool.nbprod]\npackage = "shop"\n'
    )
    nb = new_notebook(
        cells=[
            new_code_cell(
                "#| export\ndef text(x=1, # a comment\n        ):\n    return 'a\\n  b'"
            ),
            new_code_cell('assert text() == """a\n  b"""'),
        ]
    )
    nb.cells[1].metadata["tags"] = ["test"]
    nbformat.write(nb, tmp_path / "core.ipynb")
    result = CliRunner().invoke(main, ["export", "--project", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "tests" / "test_core.py").read_text()
    assert '    assert text() == """a\n  b"""' in text
    # black alone formats a plain project's module: no fences
    assert "fmt: off" not in (tmp_path / "shop" / "core.py").read_text()
    assert pytest_run(tmp_path).returncode == 0


def test_an_edited_test_with_a_multi_line_string_syncs_back_unchanged(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "0.1"\n\n[tool.nbprod]\npackage = "shop"\n'
    )
    cell = new_code_cell('expected = """a\n  b"""\nassert expected.count("b") == 1')
    cell.metadata["tags"] = ["test"]
    path = tmp_path / "core.ipynb"
    nbformat.write(new_notebook(cells=[cell]), path)
    runner = CliRunner()
    assert runner.invoke(main, ["export", "--project", str(tmp_path)]).exit_code == 0
    tests = tmp_path / "tests" / "test_core.py"
    tests.write_text(tests.read_text().replace('.count("b") == 1', '.count("a") == 1'))
    synced = runner.invoke(main, ["sync", "--project", str(tmp_path)])
    assert synced.exit_code == 0, synced.output
    source = nbformat.read(path, as_version=4).cells[0].source
    # the string's continuation line keeps its two spaces, the code loses the indent
    assert source == 'expected = """a\n  b"""\nassert expected.count("a") == 1'


def test_nbprod_check_passes_on_the_moved_project(migrated: Path) -> None:
    gate = CliRunner().invoke(
        main, ["check", "--project", str(migrated)], catch_exceptions=False
    )
    assert gate.exit_code == 0, gate.output
    # every test the move made ran and passed in the gate
    assert re.search(r"^tests\s+│\s+passed", gate.output, re.MULTILINE), gate.output
