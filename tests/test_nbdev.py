"""nbdev projects move to nbprod unchanged: nbdev's ``__all__`` rules, directives, settings, tests.

Notebooks are built in memory in nbdev's own layout (``nbs/``, the package at the
root, ``settings.ini`` or ``[tool.nbdev]``). Where nbdev itself is installed, the
``__all__`` nbprod writes is compared with the one nbdev writes for the same notebook.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from helpers.nbdev import NBDEV_PYPROJECT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbprod.cli import main
from nbprod.config import load_config
from nbprod.export import export_notebooks, plan_notebook
from nbprod.ship.from_nbdev import asserts_something

SETTINGS_INI = """\
[DEFAULT]
repo = old-lib
lib_name = old-lib
lib_path = old_lib
nbs_path = notebooks
tst_flags = slow
"""


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def write_nb(root: Path, name: str, cells: list, folder: str = "nbs") -> Path:
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.fixture
def nbdev_project(tmp_path: Path) -> Path:
    """An nbdev 3 project: ``[tool.nbdev]``, notebooks in nbs/, the package at the root."""
    (tmp_path / "pyproject.toml").write_text(NBDEV_PYPROJECT)
    (tmp_path / "mylib").mkdir()
    (tmp_path / "mylib" / "__init__.py").write_text('__version__ = "0.0.1"\n')
    return tmp_path


def run(root: Path, *args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def module_all(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", "") == "__all__"
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} has no __all__")


def python(root: Path, source: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", source],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


# patch decorators written in the notebook, so the test needs no fastcore
PATCHES = """\
#| export
def patch(f=None, **kwargs):
    return f if f is not None else (lambda g: g)

def patch_to(cls):
    return lambda f: f

class Shop:
    pass
"""

RULES = """\
#| export
a = b = 1
c, d = 2, 3
e: int = 4
(f, g), h = (5, 6), 7
_private = 8
total = 0
total += 1

def visible(): ...

async def fetch(): ...

def _hidden(): ...

@patch
def open_shop(self: Shop): ...

@patch_to(Shop)
def close_shop(self): ...

@patch(as_prop=True)
def size(self: Shop): ...

_all_ = ["_hidden", visible, "later"]
"""


def test_all_follows_nbdevs_rules(nbdev_project: Path) -> None:
    write_nb(
        nbdev_project,
        "00_core.ipynb",
        [
            code("#| default_exp core"),
            code(PATCHES),
            code(RULES),
            code("#| exporti\ndef internal(): ...\nINTERNAL = 1"),
            code("#|export\ndef no_space(): ..."),
            code("# | export\ndef black_wrote_it(): ..."),
            code("# export\ndef nbdev_one(): ..."),
            code("def exploring(): ..."),
            code("#| export\nlater = 9"),
        ],
    )
    result = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert result.exit_code == 0, result.output
    names = module_all(nbdev_project / "mylib" / "core.py")
    assert sorted(names) == sorted(
        [
            "patch",
            "patch_to",
            "Shop",
            "a",
            "b",
            "c",
            "d",
            "e",
            "h",
            "total",
            "visible",
            "fetch",
            "_hidden",
            "later",
            "no_space",
            "black_wrote_it",
            "nbdev_one",
        ]
    )
    # names still defined, just not in __all__; the module imports
    check = python(
        nbdev_project,
        "from mylib.core import *; import mylib.core as m\n"
        "print(_hidden.__name__, m.open_shop.__name__, m.internal.__name__)\n"
        "assert 'open_shop' not in dir() and 'internal' not in dir() and '_all_' not in m.__all__",
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["_hidden", "open_shop", "internal"]


def test_all_matches_nbdevs_own_export(nbdev_project: Path, tmp_path: Path) -> None:
    nbdev_export = pytest.importorskip("nbdev.export")
    path = write_nb(
        nbdev_project,
        "00_core.ipynb",
        [code("#| default_exp core"), code(PATCHES), code(RULES)],
    )
    theirs = tmp_path / "nbdev-out"
    nbdev_export.nb_export(str(path), str(theirs))
    plan = plan_notebook(path, load_config(nbdev_project))
    (module,) = [f for f in plan.files if f.kind == "module"]
    ours = tmp_path / "ours.py"
    ours.write_text(module.content)
    assert sorted(module_all(ours)) == sorted(module_all(theirs / "core.py"))


def test_directive_and_quarto_lines_stay_out_of_the_module(nbdev_project: Path) -> None:
    write_nb(
        nbdev_project,
        "00_core.ipynb",
        [
            code("#| default_exp core"),
            code(
                "#| export\n#| label: fig-total\n#| fig-cap: Totals\n#| echo: false\n"
                "#| exec_doc\n#| fig.align: center\ndef total(x):\n    return x"
            ),
        ],
    )
    assert run(nbdev_project, "export", "--project", str(nbdev_project)).exit_code == 0
    text = (nbdev_project / "mylib" / "core.py").read_text()
    assert "def total(x):" in text
    assert "#|" not in text and "fig-cap" not in text and "fig.align" not in text


def test_eval_false_test_cells_are_not_tests(nbdev_project: Path) -> None:
    path = write_nb(
        nbdev_project,
        "00_core.ipynb",
        [
            code("#| default_exp core\n#| export\ndef one():\n    return 1"),
            code("assert one() == 1", "test"),
            code("#| eval: false\nassert one() == 2", "test"),
        ],
    )
    plan = plan_notebook(path, load_config(nbdev_project))
    (tests,) = [f for f in plan.files if f.kind == "tests"]
    assert "one() == 1" in tests.content and "one() == 2" not in tests.content
    assert any("eval: false" in p.message for p in plan.problems)


def test_eval_false_cells_never_run(nbdev_project: Path) -> None:
    from nbprod.run.single import run_notebook

    path = write_nb(
        nbdev_project,
        "report.ipynb",
        [
            code("x = 1"),
            code("#| eval: false\nraise RuntimeError('downloads the whole warehouse')"),
            code("assert x == 1"),
        ],
    )
    record = run_notebook(load_config(nbdev_project), path, {})
    assert record.status == "succeeded", record.error


def test_relative_imports_as_nbdev_writes_them(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod]\npackage = "shop"\nnotebooks = "nbs"\nrelative_imports = true\n'
    )
    write_nb(
        tmp_path, "00_core.ipynb", [code("#| default_exp core\n#| export\nRATE = 2")]
    )
    write_nb(
        tmp_path,
        "01_prices.ipynb",
        [
            code("#| default_exp models.prices"),
            code(
                "#| export\nfrom shop.core import RATE\nfrom shop.core import *\n"
                "import shop.core\n\ndef price(x):\n    return x * RATE * shop.core.RATE"
            ),
        ],
    )
    result = run(tmp_path, "export", "--project", str(tmp_path))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "shop" / "models" / "prices.py").read_text()
    assert "from ..core import RATE" in text and "from ..core import *" in text
    assert "import shop.core" in text  # nbdev leaves `import x` alone too
    check = python(tmp_path, "from shop.models.prices import price; print(price(1))")
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "4"
    # off by default: imports stay as written
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod]\npackage = "shop"\nnotebooks = "nbs"\n'
    )
    assert run(tmp_path, "export", "--project", str(tmp_path)).exit_code == 0
    text = (tmp_path / "shop" / "models" / "prices.py").read_text()
    assert "from shop.core import RATE" in text


def test_an_import_after_a_star_import_still_wins(tmp_path: Path) -> None:
    """execnb: ``from traitlets.config import Config`` after ``from fastcore.utils import *``.

    Imports go to the top of the module, the star import stays in its cell: an
    import the notebook makes after a star import must stay after it, or the
    star import's name of the same spelling wins.
    """
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod]\npackage = "shop"\nnotebooks = "nbs"\nrelative_imports = true\n'
    )
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "helpers.py").write_text(
        'Decimal = "helpers"\nFraction = "helpers"\nRATE = 3\n'
    )
    write_nb(
        tmp_path,
        "00_core.ipynb",
        [
            code("#| default_exp core"),
            # before the star import: the star import's binding wins, as in the notebook
            code("#| export\nfrom fractions import Fraction"),
            code("#| export\nfrom shop.helpers import *\nfrom decimal import Decimal"),
            code("#| export\nfrom shop.helpers import RATE as rate\n\nkind = Fraction"),
            code("#| export\ndef make():\n    return Decimal(rate)"),
        ],
    )
    result = run(tmp_path, "export", "--project", str(tmp_path))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "shop" / "core.py").read_text()
    assert "from .helpers import RATE as rate" in text  # kept in place, made relative
    check = python(
        tmp_path,
        "import decimal, shop.core as m; "
        "print(type(m.make()) is decimal.Decimal, m.kind, m.Decimal is decimal.Decimal)",
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["True", "helpers", "True"]
    # other projects keep one sorted import block (ruff's isort rules)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod]\npackage = "shop"\nnotebooks = "nbs"\n'
    )
    assert run(tmp_path, "export", "--project", str(tmp_path)).exit_code == 0
    text = (tmp_path / "shop" / "core.py").read_text()
    assert text.index("from decimal import Decimal") < text.index("# %% [nbprod]")


def test_sync_of_a_cell_whose_imports_stay_after_a_star_import(tmp_path: Path) -> None:
    """The block holds the cell's imports (they stay after the star import): sync adds them once."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod]\npackage = "shop"\nnotebooks = "nbs"\nrelative_imports = true\n'
    )
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "helpers.py").write_text("X = 1\n")
    path = write_nb(
        tmp_path,
        "core.ipynb",
        [
            code("from shop.helpers import *", "export"),
            code(
                "import os\nfrom shop.helpers import X as x\n\ndef where():\n"
                "    return os.sep + str(x)",
                "export",
            ),
        ],
    )
    assert run(tmp_path, "export", "--project", str(tmp_path)).exit_code == 0
    module = tmp_path / "shop" / "core.py"
    module.write_text(module.read_text().replace("str(x)", "str(x) + '!'"))
    synced = run(tmp_path, "sync", "--project", str(tmp_path))
    assert synced.exit_code == 0, synced.output
    source = nbformat.read(path, as_version=4).cells[1].source
    assert source.count("import os") == 1 and source.count("import X as x") == 1
    assert "from shop.helpers import X as x" in source  # as the notebook had it
    assert "+ '!'" in source or '+ "!"' in source
    check = run(tmp_path, "export", "--check", "--project", str(tmp_path))
    assert check.exit_code == 0, check.output


def test_fastprogress_module_code_exports(nbdev_project: Path) -> None:
    """fastprogress: ``get_ipython()`` guarded in a function; a star import's name reassigned."""
    (nbdev_project / "mylib" / "core.py").write_text("IN_NOTEBOOK = True\n")
    write_nb(
        nbdev_project,
        "01_bars.ipynb",
        [
            code("#| default_exp bars"),
            code(
                "#| export\nfrom mylib.core import *\n\ndef in_notebook():\n"
                "    try:\n        return get_ipython().__class__.__name__ == 'ZMQInteractiveShell'\n"
                "    except NameError:\n        return False"
            ),
            code(
                "#| export\nif IN_NOTEBOOK:\n    try:\n        import no_such_widgets_xyz\n"
                "    except ImportError:\n        IN_NOTEBOOK = False"
            ),
        ],
    )
    result = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert result.exit_code == 0, result.output
    check = python(
        nbdev_project, "import mylib.bars as b; print(b.in_notebook(), b.IN_NOTEBOOK)"
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["False", "False"]
    # without the star import, reading a name before the cell assigns it is an error
    write_nb(
        nbdev_project,
        "01_bars.ipynb",
        [code("#| default_exp bars"), code("#| export\nif FLAG:\n    FLAG = False")],
    )
    refused = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert refused.exit_code == 1
    assert "`FLAG` is used here at import time before this cell assigns it" in (
        refused.output
    )
    # outside nbdev code, get_ipython() in a module is still a name no cell defines
    (nbdev_project / "pyproject.toml").write_text(
        '[tool.nbprod]\npackage = "mylib"\nnotebooks = "nbs"\n'
    )
    write_nb(
        nbdev_project,
        "01_bars.ipynb",
        [code("#| export\ndef shell():\n    return get_ipython()")],
    )
    plain = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert plain.exit_code == 1
    assert "`get_ipython` is not defined in any cell" in plain.output


def test_hand_written_modules_are_left_alone(nbdev_project: Path) -> None:
    imports = nbdev_project / "mylib" / "imports.py"
    imports.write_text("def helper():\n    return 41\n")
    write_nb(
        nbdev_project,
        "00_core.ipynb",
        [
            code("#| default_exp core"),
            code(
                "#| export\nfrom mylib.imports import helper\n\ndef answer():\n    return helper() + 1"
            ),
            code("assert answer() == 42", "test"),
        ],
    )
    result = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert result.exit_code == 0, result.output
    assert imports.read_text() == "def helper():\n    return 41\n"
    check = run(nbdev_project, "export", "--check", "--project", str(nbdev_project))
    assert check.exit_code == 0, check.output
    assert "imports.py" not in check.output
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=nbdev_project,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout
    # a notebook that would write over it is refused, --force or not
    write_nb(
        nbdev_project,
        "01_imports.ipynb",
        [code("#| default_exp imports\n#| export\nX = 1")],
    )
    refused = run(nbdev_project, "export", "--force", "--project", str(nbdev_project))
    assert refused.exit_code == 1
    assert "a module nbprod did not generate" in refused.output
    assert imports.read_text() == "def helper():\n    return 41\n"


def test_modules_nbdev_generated_are_replaced(nbdev_project: Path) -> None:
    old = nbdev_project / "mylib" / "core.py"
    old.write_text(
        '"""Core."""\n\n# AUTOGENERATED! DO NOT EDIT! File to edit: ../nbs/00_core.ipynb.\n\n'
        "__all__ = ['old']\n\ndef old(): ...\n"
    )
    write_nb(
        nbdev_project,
        "00_core.ipynb",
        [code("#| default_exp core\n#| export\ndef new(): ...")],
    )
    result = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert result.exit_code == 0, result.output
    assert module_all(old) == ["new"]


def test_zero_configuration_from_tool_nbdev(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        NBDEV_PYPROJECT.replace('lib_path = "mylib"', 'lib_path = "src/mylib"')
    )
    write_nb(tmp_path, "00_core.ipynb", [code("#| default_exp core\n#| export\nX = 1")])
    config = load_config(tmp_path / "nbs")
    assert (config.root, config.package, config.source, config.notebooks) == (
        tmp_path,
        "mylib",
        "src",
        "nbs",
    )
    assert config.relative_imports and "pyproject.toml" in (config.settings_note or "")
    result = CliRunner().invoke(
        main, ["export", "--project", str(tmp_path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("using nbdev's settings from pyproject.toml") == 1
    assert (tmp_path / "src" / "mylib" / "core.py").is_file()


def test_zero_configuration_from_settings_ini(tmp_path: Path) -> None:
    (tmp_path / "settings.ini").write_text(SETTINGS_INI)
    write_nb(
        tmp_path,
        "00_core.ipynb",
        [code("#| default_exp core\n#| export\nX = 1")],
        folder="notebooks",
    )
    config = load_config(tmp_path)
    assert (config.package, config.source, config.notebooks) == (
        "old_lib",
        "",
        "notebooks",
    )
    assert "settings.ini" in (config.settings_note or "")
    result = export_notebooks(config)
    assert result.exit_code == 0
    assert (tmp_path / "old_lib" / "core.py").is_file()


def test_asserting_cells_are_recognised() -> None:
    assert asserts_something("assert x")
    assert asserts_something("test_eq(f(1), 2)")
    assert asserts_something("fastcore.test.test_close(a, b)")
    assert asserts_something("test_fail(lambda: f(0), contains='zero')")
    assert asserts_something("with ExceptionExpected(ValueError):\n    f(0)")
    assert not asserts_something("show_doc(f)\nf(1)")
    assert not asserts_something("x = test_data()")


CORE = [
    new_markdown_cell("# Core\n> the core"),
    code("#| default_exp core"),
    code("#| hide\nfrom mylib.testing import *"),
    code(
        "#| export\nclass Basket:\n    def __init__(self):\n        self.items = []\n\n    def add(self, x):\n        self.items.append(x)"
    ),
    code("#| export\ndef _double(x):\n    return 2 * x"),
    code("test_eq(_double(2), 4)"),
    code("basket = Basket()\nbasket.add(1)"),
    code("test_eq(basket.items, [1])"),
    code("basket.add(2)\nassert basket.items == [1, 2]"),
    code("#| eval: false\ntest_eq(download_everything(), 1)"),
    code("#| slow\ntest_eq(1, 1)"),
    code("%timeit _double(3)"),
    code("Basket()"),
    code("async def later():\n    return 3"),
    code("assert await later() == 3"),
    code("#| hide\nassert _double(0) == 0"),
]


def make_nbdev_tests(root: Path) -> Path:
    # fastcore.test's helpers, hand-written in the package: the test needs no fastcore
    (root / "mylib" / "testing.py").write_text(
        '__all__ = ["test_eq"]\n\n\ndef test_eq(a, b):\n    assert a == b, f"{a!r} != {b!r}"\n'
    )
    (root / "pyproject.toml").write_text(
        NBDEV_PYPROJECT.replace(
            'nbs_path = "nbs"', 'nbs_path = "nbs"\ntst_flags = "slow"'
        )
    )
    return write_nb(root, "00_core.ipynb", CORE)


def test_init_from_nbdev_dry_run_changes_nothing(nbdev_project: Path) -> None:
    path = make_nbdev_tests(nbdev_project)
    before = {p: p.read_bytes() for p in nbdev_project.rglob("*") if p.is_file()}
    result = CliRunner().invoke(
        main,
        ["init", "--from-nbdev", "--dry-run", str(nbdev_project)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "[tool.nbprod]" in result.output
    assert "nbs/00_core.ipynb: would tag 5 test cell(s), 3 setup" in result.output
    assert "1 #| eval: false" in result.output and "#| slow" in result.output
    assert {
        p: p.read_bytes() for p in nbdev_project.rglob("*") if p.is_file()
    } == before
    data = json.loads(
        CliRunner()
        .invoke(
            main, ["init", "--from-nbdev", "--dry-run", "--json", str(nbdev_project)]
        )
        .stdout
    )
    (nb,) = data["notebooks"]
    assert (nb["tests"], nb["setup"], nb["problems"]) == (5, 3, [])
    assert path.read_bytes() == before[path]


def test_init_from_nbdev_turns_nbdev_tests_into_passing_pytest_tests(
    nbdev_project: Path,
) -> None:
    path = make_nbdev_tests(nbdev_project)
    sources = [c.source for c in nbformat.read(path, as_version=4).cells]
    result = CliRunner().invoke(
        main, ["init", "--from-nbdev", str(nbdev_project)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "nbs/00_core.ipynb: tag 5 test cell(s), 3 setup" in result.output
    nb = nbformat.read(path, as_version=4)
    assert [c.source for c in nb.cells] == sources  # only tags and metadata changed
    tagged = [i for i, c in enumerate(nb.cells) if "test" in c.metadata.get("tags", [])]
    # the star import, the asserting cells, and the cells building `basket`
    # and `later` for them; not eval: false, #| slow, the magic or the display
    assert tagged == [2, 5, 6, 7, 8, 13, 14, 15]
    assert nb.metadata["nbprod"]["test_state"] == "shared"
    again = CliRunner().invoke(
        main,
        ["init", "--from-nbdev", "--dry-run", str(nbdev_project)],
        catch_exceptions=False,
    )
    assert "[tool.nbprod] present, left as it is" in again.output
    assert "would tag 0 test cell(s), 0 setup, 8 already tagged" in again.output
    config = load_config(nbdev_project)
    assert config.configured and config.package == "mylib" and config.notebooks == "nbs"
    assert config.relative_imports and config.gate.lint == ()

    exported = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert exported.exit_code == 0, exported.output
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=nbdev_project,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    # _double; basket built, added to and checked in one test; await; hidden
    assert "4 passed" in tests.stdout, tests.stdout
    gate = run(nbdev_project, "check", "--project", str(nbdev_project))
    assert gate.exit_code == 0, gate.output

    # a failing notebook test is a failing pytest test
    nb.cells[8].source = "basket.add(2)\nassert basket.items == [1, 3]"
    nbformat.write(nb, path)
    assert run(nbdev_project, "export", "--project", str(nbdev_project)).exit_code == 0
    failing = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=nbdev_project,
        capture_output=True,
        text=True,
    )
    assert failing.returncode == 1 and "1 failed, 3 passed" in failing.stdout


def test_init_from_nbdev_skips_hidden_cells_when_told(nbdev_project: Path) -> None:
    make_nbdev_tests(nbdev_project)
    data = json.loads(
        CliRunner()
        .invoke(
            main,
            [
                "init",
                "--from-nbdev",
                "--dry-run",
                "--skip-hidden",
                "--json",
                str(nbdev_project),
            ],
        )
        .stdout
    )
    (nb,) = data["notebooks"]
    assert nb["skip_reasons"].get("#| hide") == 2
    assert nb["tests"] == 4


def test_init_from_nbdev_without_nbdev_settings_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", "--from-nbdev", str(tmp_path)])
    assert result.exit_code == 2
    assert "has no nbdev settings" in result.output


def test_init_from_nbdev_keeps_the_projects_own_tests_and_outputs(
    nbdev_project: Path,
) -> None:
    """execnb: hand-written ``tests/test_shell.py`` next to the notebook ``00_shell``.

    The notebooks' tests go to ``tests/notebook_tests/`` (a package, so both
    ``test_core.py`` files are collected), the project's own file is left alone
    and runs too, and no nbstripout filter is set up: nbdev's docs are rendered
    from the notebooks' outputs.
    """
    path = make_nbdev_tests(nbdev_project)
    own = nbdev_project / "tests" / "test_core.py"
    own.parent.mkdir()
    own.write_text(
        "from mylib.core import _double\n\n\ndef test_own():\n    assert _double(4) == 8\n"
    )
    nb = nbformat.read(path, as_version=4)
    nb.cells[5].outputs = [nbformat.v4.new_output("stream", text="kept\n")]
    nbformat.write(nb, path)
    subprocess.run(["git", "init", "-q", str(nbdev_project)], check=True)
    result = run(nbdev_project, "init", "--from-nbdev", str(nbdev_project))
    assert result.exit_code == 0, result.output
    config = load_config(nbdev_project)
    assert config.tests == "tests/notebook_tests" and not config.push.strip_outputs
    assert not (nbdev_project / ".gitattributes").exists()
    exported = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert exported.exit_code == 0, exported.output
    assert (nbdev_project / "tests" / "notebook_tests" / "test_core.py").is_file()
    assert own.read_text().startswith("from mylib.core import _double")
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=nbdev_project,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "5 passed" in tests.stdout, tests.stdout  # 4 from the notebook, 1 own
    assert nbformat.read(path, as_version=4).cells[5].outputs[0].text == "kept\n"
    assert config.gate.tests == ("tests",)
    gate = run(nbdev_project, "check", "--project", str(nbdev_project), "--json")
    assert gate.exit_code == 0, gate.output
    # the gate runs the project's own test too, not only the notebooks'
    [step] = [s for s in json.loads(gate.stdout)["steps"] if s["name"] == "tests"]
    assert (step["passed"], step["total"]) == (5, 5), step


OLD_SETTINGS_INI = """\
[DEFAULT]
repo = old-lib
lib_name = old-lib
lib_path = old_lib
nbs_path = nbs
version = 0.0.1
requirements = pyyaml>=6
pip_requirements =
conda_requirements =
dev_requirements = packaging
"""

# nbdev 2's setup.py template, cut down: the metadata comes from settings.ini
OLD_SETUP_PY = """\
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini")
cfg = cfg["DEFAULT"]
setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    packages=setuptools.find_packages(),
    install_requires=cfg.get("requirements", "").split(),
    extras_require={"dev": cfg.get("dev_requirements", "").split()},
)
"""


def test_deps_reads_an_old_nbdev_projects_settings_ini(tmp_path: Path) -> None:
    """nbdev 2 projects declare dependencies in settings.ini, which their setup.py reads."""
    (tmp_path / "settings.ini").write_text(OLD_SETTINGS_INI)
    (tmp_path / "setup.py").write_text(OLD_SETUP_PY)
    (tmp_path / "old_lib").mkdir()
    (tmp_path / "old_lib" / "__init__.py").write_text("")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write_nb(
        tmp_path,
        "00_core.ipynb",
        [
            code("#| default_exp core"),
            # an optional import (guarded) of a library nothing declares: not a failure
            code(
                "#| export\nimport yaml\ntry:\n    import no_such_library_xyz\n"
                "except ImportError:\n    no_such_library_xyz = None\n\n"
                "def load(text):\n    return yaml.safe_load(text)"
            ),
            code("from packaging.version import Version"),
            code("assert load('a: 1') == {'a': 1} and Version('1.0')"),
        ],
    )
    moved = run(tmp_path, "init", "--from-nbdev", str(tmp_path))
    assert moved.exit_code == 0, moved.output
    pyproject = (tmp_path / "pyproject.toml").read_text()
    assert "[project]" not in pyproject  # setup.py keeps the metadata
    exported = run(tmp_path, "export", "--project", str(tmp_path))
    assert exported.exit_code == 0, exported.output
    gate = run(tmp_path, "check", "--json", "--project", str(tmp_path))
    report = json.loads(gate.stdout)
    deps = next(s for s in report["steps"] if s["name"] == "deps")
    assert deps["status"] == "passed", deps
    assert gate.exit_code == 0, gate.output
    listed = run(tmp_path, "deps", "--project", str(tmp_path))
    assert "settings.ini `requirements`: pyyaml>=6" in listed.output
    assert "test group dev_requirements: packaging" in listed.output

    # what settings.ini leaves out is reported there: yaml at runtime, packaging in tests
    (tmp_path / "settings.ini").write_text(
        OLD_SETTINGS_INI.replace("pyyaml>=6", "").replace("= packaging", "=")
    )
    failed = run(tmp_path, "check", "--project", str(tmp_path))
    assert failed.exit_code == 1
    assert "PyYAML is not in settings.ini `requirements`" in failed.output
    assert "packaging is not in settings.ini `dev_requirements`" in failed.output
    assert "no_such_library_xyz" not in failed.output
    refused = run(tmp_path, "deps", "--add", "--project", str(tmp_path))
    assert refused.exit_code == 2
    assert "declares its dependencies in settings.ini" in refused.output


def test_tests_calling_get_ipython_get_the_notebooks_shell(
    nbdev_project: Path,
) -> None:
    """execnb: ``SmartCompleter(get_ipython())`` completes names the cells defined.

    nbdev's runner ran the cells in an IPython shell whose namespace was the
    notebook's; the test file's ``get_ipython()`` gives that shell, its
    namespace the file's globals.
    """
    path = write_nb(
        nbdev_project,
        "00_core.ipynb",
        [
            code("#| default_exp core"),
            code("#| export\ndef double(x):\n    return 2 * x"),
            code("basket = 3"),
            code(
                "shell = get_ipython()\n"
                "assert shell.user_ns['basket'] == 3 and double(basket) == 6\n"
                "assert shell.user_ns['double'] is double"
            ),
        ],
    )
    moved = run(nbdev_project, "init", "--from-nbdev", str(nbdev_project))
    assert moved.exit_code == 0, moved.output
    assert "tag 1 test cell(s), 1 setup" in moved.output
    exported = run(nbdev_project, "export", "--project", str(nbdev_project))
    assert exported.exit_code == 0, exported.output
    assert (
        "def get_ipython():" in (nbdev_project / "tests" / "test_core.py").read_text()
    )
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=nbdev_project,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout
    # a notebook that imports get_ipython itself keeps its own
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, code("from IPython import get_ipython"))
    nbformat.write(nb, path)
    assert run(nbdev_project, "export", "--project", str(nbdev_project)).exit_code == 0
    assert (
        "def get_ipython():"
        not in (nbdev_project / "tests" / "test_core.py").read_text()
    )


def test_a_transitive_import_is_undeclared_and_says_what_brings_it(
    nbdev_project: Path,
) -> None:
    """execnb imports traitlets, which it gets only through its declared ipython."""
    from nbprod.gate.deps import check_dependencies

    (nbdev_project / "pyproject.toml").write_text(
        NBDEV_PYPROJECT.replace(
            'version = "0.0.1"', 'version = "0.0.1"\ndependencies = ["nbformat"]'
        )
    )
    write_nb(
        nbdev_project,
        "00_core.ipynb",
        [
            code("#| default_exp core"),
            code(
                "#| export\nimport nbformat\nfrom traitlets import Unicode\n\nKINDS = (nbformat, Unicode)"
            ),
        ],
    )
    report = check_dependencies(load_config(nbdev_project))
    (missing,) = report.missing
    assert (missing.distribution, missing.via) == ("traitlets", ["nbformat"])
    (finding,) = [f for f in report.findings() if f.severity == "error"]
    assert "(it is installed as a dependency of nbformat)" in finding.message
    (nbdev_project / "pyproject.toml").write_text(
        NBDEV_PYPROJECT.replace(
            'version = "0.0.1"',
            'version = "0.0.1"\ndependencies = ["nbformat", "traitlets"]',
        )
    )
    assert check_dependencies(load_config(nbdev_project)).ok


def test_one_name_imported_twice_is_written_in_one_order() -> None:
    """``InteractiveShell`` and ``InteractiveShell as _IPythonShell``: the same file every time."""
    source = (
        "from nbprod.export.render import import_block\n"
        "print(import_block(['from m import B as _b', 'from m import B', 'from m import A'], 'p'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", source],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            check=True,
        ).stdout
        for seed in range(8)
    }
    assert outputs == {"('from m import A, B, B as _b',)\n"}
