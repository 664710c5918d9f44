"""Sync: hand edits of generated modules and tests back into their notebook cells.

Every test exports a real project (the churn example, or notebooks built with
nbformat.v4), edits the generated files as a person would, syncs, and checks
the cells, what was kept (ids, tags, directives, outputs) and that a re-export
finds nothing stale.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbprod.cli import main
from nbprod.config import load_config
from nbprod.export.sync import sync_notebooks

PYPROJECT = """\
[project]
name = "shop"

[tool.nbprod]
package = "shop"
source = "src"
"""


def cli(root: Path, *args: str):
    """Run the command line in-process on the project."""
    return CliRunner().invoke(
        main, [args[0], "--project", str(root), *args[1:]], catch_exceptions=False
    )


def code(source: str, *tags: str, outputs: list | None = None) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    if outputs:
        cell.outputs = outputs
        cell.execution_count = 1
    return cell


def write_notebook(root: Path, name: str, cells: list) -> Path:
    path = root / "notebooks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)
    return path


def cells_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def snapshot(*paths: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in paths}


def assert_clean_export(root: Path) -> None:
    result = cli(root, "export", "--check")
    assert result.exit_code == 0, result.output
    assert "In sync" in result.output


def assert_only_sources_changed(before: list[dict], after: list[dict], changed: set):
    """Cells keep ids, metadata and outputs; only the named ones change, in source."""
    assert len(before) == len(after)
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        if index in changed:
            assert {k: v for k, v in old.items() if k != "source"} == {
                k: v for k, v in new.items() if k != "source"
            }
            assert old["source"] != new["source"]
        else:
            assert old == new, f"cell {index} changed"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "notebooks").mkdir()
    return tmp_path


# -- the example project --------------------------------------------------------


def test_churn_round_trip_brings_every_kind_of_edit_back(churn_project: Path) -> None:
    root = churn_project
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    assert cli(root, "export").exit_code == 0
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"],
        cwd=root,
        check=True,
    )
    notebook = root / "notebooks" / "01_features.ipynb"
    module = root / "src" / "churn" / "features.py"
    tests = root / "tests" / "test_features.py"
    before = cells_of(notebook)
    # a reviewer's line in a function, a new function after the last one, an
    # import in the module's import section, one more assertion in a test and
    # a changed setup line
    edit(
        module,
        "    return out\n",
        '    out["senior_paperless"] = out["is_senior"] * out["paperless_billing"]\n'
        "    return out\n\n\n"
        "def churn_rate(df: pd.DataFrame) -> float:\n"
        '    """The share of customers who left."""\n'
        "    return float(np.round(df[TARGET_COLUMN].mean(), 4))\n",
    )
    edit(module, "import numpy as np\n", "import math\n\nimport numpy as np\n")
    edit(
        module,
        "    rng = np.random",
        "    assert not math.isnan(seed)\n    rng = np.random",
    )
    edit(
        tests,
        "    assert len(sample) == 50\n",
        "    assert len(sample) == 50\n    assert sample[TARGET_COLUMN].sum() > 0\n",
    )
    edit(
        tests,
        "sample = make_customers(50, seed=1)",
        "sample = make_customers(50, seed=3)",
    )

    result = cli(root, "sync")

    assert result.exit_code == 0, result.output
    assert "Synced 1 notebook(s): 5 cell(s) changed;" in result.output
    after = cells_of(notebook)
    # cells: 1 imports, 3 make_customers, 10 add_features, 14 setup, 18 last test
    assert_only_sources_changed(before, after, {1, 3, 10, 14, 18})
    assert source(after[1]) == (
        "# | default_exp features\nimport numpy as np\nimport pandas as pd\nimport math"
    )
    assert "def churn_rate(df: pd.DataFrame) -> float:" in source(after[10])
    assert "    assert not math.isnan(seed)\n    rng = np.random" in source(after[3])
    assert source(after[14]) == "sample = make_customers(50, seed=3)"
    assert source(after[18]).endswith("assert sample[TARGET_COLUMN].sum() > 0")
    assert source(after[18]).startswith("# the churn label is 0 or 1")
    assert_clean_export(root)
    # the notebook's git diff is only cell source lines
    diff = subprocess.run(
        ["git", "diff", "-U0", "--", "notebooks"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    changed_lines = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed_lines and all(
        line[1:].startswith('    "') for line in changed_lines
    ), changed_lines
    # the other notebook was not touched, and a second sync has nothing to do
    assert "notebooks/02_train.ipynb unchanged" in result.output
    again = cli(root, "sync", "--check")
    assert again.exit_code == 0 and "In sync" in again.output


# -- nbdev-style notebooks ------------------------------------------------------


def nbdev_notebook(root: Path) -> Path:
    return write_notebook(
        root,
        "core.ipynb",
        [
            new_markdown_cell("# Core\n\nPrices and taxes."),
            code("#| default_exp core\nimport math"),
            code("#| export\ndef area(r):\n    return math.pi * r * r"),
            code(
                "#| exporti\ndef _scale(x):\n    return 2 * x",
                outputs=[new_output("stream", name="stdout", text="hi\n")],
            ),
            code(
                "#| export extra.tax\nRATE = 0.2\n\n\ndef tax(x):\n    return x * RATE"
            ),
            code(
                "area(2)",
                outputs=[new_output("execute_result", data={"text/plain": "12.5"})],
            ),
            code("#| test\nvalue = area(1)"),
            code("#| test\n# area of the unit circle\nassert round(value, 2) == 3.14"),
        ],
    )


def test_nbdev_directives_stay_and_several_modules_sync(project: Path) -> None:
    notebook = nbdev_notebook(project)
    assert cli(project, "export").exit_code == 0
    core = project / "src/shop/core.py"
    tax = project / "src/shop/extra/tax.py"
    tests = project / "tests/test_core.py"
    before = cells_of(notebook)
    edit(core, "    return 2 * x\n", "    return 3 * x\n")
    edit(
        tax,
        "    return x * RATE\n",
        "    return round(x * RATE, 2)\n\n\ndef net(x):\n    return x - tax(x)\n",
    )
    edit(tax, "RATE = 0.2\n", "RATE = 0.2\nLIMIT = Decimal(10)\n")
    # the tax module had no import section: an added one goes to a new cell
    edit(tax, "__all__", "from decimal import Decimal\n\n__all__")
    edit(
        tests,
        "    assert round(value, 2) == 3.14\n",
        "    assert round(value, 2) == 3.14\n    assert value > 3\n",
    )

    result = cli(project, "sync")

    assert result.exit_code == 0, result.output
    after = cells_of(notebook)
    # the import goes to the first cell holding imports, under its directive
    assert (
        source(after[1])
        == "#| default_exp core\nimport math\nfrom decimal import Decimal"
    )
    assert source(after[3]) == "#| exporti\ndef _scale(x):\n    return 3 * x"
    assert after[3]["outputs"] == before[3]["outputs"]
    assert source(after[4]).startswith(
        "#| export extra.tax\nRATE = 0.2\nLIMIT = Decimal(10)"
    )
    assert "def net(x):" in source(after[4])
    assert source(after[7]) == (
        "#| test\n# area of the unit circle\nassert round(value, 2) == 3.14\nassert value > 3"
    )
    assert_only_sources_changed(before, after, {1, 3, 4, 7})
    assert "_scale" not in core.read_text().split("__all__")[1].split("]")[0]
    assert "net" in tax.read_text()
    assert_clean_export(project)


def test_a_module_without_an_imports_cell_gets_a_new_exported_cell(
    project: Path,
) -> None:
    notebook = write_notebook(
        project, "nb.ipynb", [code("def f(x):\n    return x + 1", "export")]
    )
    assert cli(project, "export").exit_code == 0
    module = project / "src/shop/nb.py"
    edit(module, "__all__", "import math\n\n__all__")
    edit(module, "    return x + 1", "    return math.floor(x) + 1")
    assert cli(project, "sync").exit_code == 0
    after = cells_of(notebook)
    assert [source(c) for c in after] == [
        "import math",
        "def f(x):\n    return math.floor(x) + 1",
    ]
    assert after[0]["metadata"]["tags"] == ["export"]
    assert_clean_export(project)


def test_header_and_all_are_regenerated_and_said_so(project: Path) -> None:
    notebook = write_notebook(project, "nb.ipynb", [code("A = 1\nB = 2", "export")])
    assert cli(project, "export").exit_code == 0
    module = project / "src/shop/nb.py"
    edit(module, "do not edit by hand", "edited anyway")
    edit(module, '"B"]', '"B", "C"]')
    edit(module, "B = 2\n", "B = 3\n")
    result = cli(project, "sync")
    assert result.exit_code == 0, result.output
    assert "the generated header is regenerated, not synced" in result.output
    assert (
        "`__all__` is regenerated from the exported cells, not synced" in result.output
    )
    assert source(cells_of(notebook)[0]) == "A = 1\nB = 3"
    assert "do not edit by hand" in module.read_text()
    assert_clean_export(project)


def test_unchanged_files_sync_nothing(project: Path) -> None:
    notebook = nbdev_notebook(project)
    assert cli(project, "export").exit_code == 0
    before = notebook.read_bytes()
    result = cli(project, "sync")
    assert result.exit_code == 0
    assert "Nothing to sync" in result.output
    assert notebook.read_bytes() == before


def test_an_import_added_to_the_tests_goes_to_a_cell_the_tests_read(
    project: Path,
) -> None:
    notebook = write_notebook(
        project,
        "nb.ipynb",
        [
            code("def f(x):\n    return x / 2", "export"),
            code("import math\n\nvalue = f(math.floor(3.7))", "test"),
            code("assert value == 1.5", "test"),
        ],
    )
    assert cli(project, "export").exit_code == 0
    tests = project / "tests/test_nb.py"
    edit(tests, "import math\n", "import json\nimport math\n")
    edit(
        tests,
        "    assert value == 1.5\n",
        '    assert value == 1.5\n    assert json.dumps(value) == "1.5"\n',
    )
    result = cli(project, "sync")
    assert result.exit_code == 0, result.output
    cells = [source(c) for c in cells_of(notebook)]
    assert cells[1] == "import math\nimport json\n\nvalue = f(math.floor(3.7))"
    assert cells[2] == 'assert value == 1.5\nassert json.dumps(value) == "1.5"'
    assert_clean_export(project)


def test_without_a_record_of_the_last_export_a_differing_block_is_a_conflict(
    project: Path,
) -> None:
    """A fresh clone: .nbprod/ is not committed, so there is no base to decide on."""
    notebook = write_notebook(project, "nb.ipynb", [code("A = 1", "export")])
    assert cli(project, "export").exit_code == 0
    for path in sorted((project / ".nbprod").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    module = project / "src/shop/nb.py"
    edit(module, "A = 1", "A = 2")
    result = cli(project, "sync")
    assert result.exit_code == 1
    assert "no record of what export last wrote" in result.output
    assert source(cells_of(notebook)[0]) == "A = 1"
    assert cli(project, "sync", "--prefer", "module").exit_code == 0
    assert source(cells_of(notebook)[0]) == "A = 2"
    assert_clean_export(project)


# -- refusals: nothing written ---------------------------------------------------


def test_a_deleted_block_needs_allow_delete(project: Path) -> None:
    notebook = nbdev_notebook(project)
    assert cli(project, "export").exit_code == 0
    core = project / "src/shop/core.py"
    text = core.read_text()
    start = text.index("# %% [nbprod] notebooks/core.ipynb cell id=")
    second = text.index("# %% [nbprod]", start + 1)
    core.write_text(text[:second].rstrip() + "\n")  # the exporti block is gone
    files = snapshot(notebook, core)

    result = cli(project, "sync")

    assert result.exit_code == 1
    assert "the block of cell 4" in result.output
    assert "def _scale(x):" in result.output
    assert "try: `nbprod sync --allow-delete`" in result.output
    assert snapshot(notebook, core) == files

    result = cli(project, "sync", "--allow-delete")
    assert result.exit_code == 0, result.output
    cell = cells_of(notebook)[3]
    assert source(cell) == "def _scale(x):\n    return 2 * x"
    assert_clean_export(project)
    assert "_scale" not in core.read_text()


def test_a_deleted_tagged_block_loses_its_tag(project: Path) -> None:
    notebook = write_notebook(
        project,
        "nb.ipynb",
        [code("A = 1", "export"), code("B = 2", "export", "slow")],
    )
    assert cli(project, "export").exit_code == 0
    module = project / "src/shop/nb.py"
    text = module.read_text()
    module.write_text(text[: text.rindex("# %% [nbprod]")].rstrip() + "\n")
    assert cli(project, "sync", "--allow-delete").exit_code == 0
    assert cells_of(notebook)[1]["metadata"]["tags"] == ["slow"]
    assert_clean_export(project)


def conflicted(project: Path) -> tuple[Path, Path]:
    notebook = write_notebook(
        project, "nb.ipynb", [code("def f(x):\n    return x + 1", "export")]
    )
    assert cli(project, "export").exit_code == 0
    module = project / "src/shop/nb.py"
    edit(module, "return x + 1", "return x + 2")
    nb = nbformat.read(notebook, 4)
    nb.cells[0].source = "def f(x):\n    return x + 3"
    nbformat.write(nb, notebook)
    return notebook, module


def test_a_conflict_is_refused_with_both_sides(project: Path) -> None:
    notebook, module = conflicted(project)
    files = snapshot(notebook, module)
    cell_id = cells_of(notebook)[0]["id"]

    result = cli(project, "sync")

    assert result.exit_code == 1
    assert f"conflict cell 1 (id {cell_id}, `def f(x):`)" in result.output
    assert "+    return x + 2" in result.output  # the module's side
    assert "+    return x + 3" in result.output  # the notebook's side
    assert "-    return x + 1" in result.output
    assert "try: `nbprod sync --prefer module` or `nbprod sync --prefer notebook`" in (
        result.output
    )
    assert snapshot(notebook, module) == files
    data = json.loads(cli(project, "sync", "--json").output)
    assert data["ok"] is False
    assert data["notebooks"][0]["error"]["type"] == "sync_conflict"
    assert data["notebooks"][0]["conflicts"][0]["cell_id"] == cell_id


def test_prefer_settles_a_conflict(project: Path) -> None:
    notebook, module = conflicted(project)
    assert cli(project, "sync", "--prefer", "notebook").exit_code == 0
    assert source(cells_of(notebook)[0]) == "def f(x):\n    return x + 3"
    assert "return x + 3" in module.read_text()
    assert_clean_export(project)

    notebook, module = conflicted(project)
    assert cli(project, "sync", "--prefer", "module").exit_code == 0
    assert source(cells_of(notebook)[0]) == "def f(x):\n    return x + 2"
    assert_clean_export(project)


@pytest.mark.parametrize(
    ("change", "message", "line"),
    [
        (
            lambda t: t.replace("__all__", "HELPER = 1\n\n__all__"),
            "code outside any notebook block: `HELPER = 1`",
            4,
        ),
        (
            lambda t: t.replace("cell id=", "cell  id="),
            "was edited by hand",
            7,
        ),
        (
            lambda t: t.replace(
                "notebooks/nb.ipynb cell", "notebooks/other.ipynb cell"
            ),
            "the block marker names notebooks/other.ipynb",
            7,
        ),
    ],
    ids=["outside-a-block", "marker-edited", "marker-of-another-notebook"],
)
def test_unmappable_edits_are_refused_with_file_and_line(
    project: Path, change, message: str, line: int
) -> None:
    notebook = write_notebook(project, "nb.ipynb", [code("A = 1", "export")])
    assert cli(project, "export").exit_code == 0
    module = project / "src/shop/nb.py"
    module.write_text(change(module.read_text()).replace("A = 1", "A = 2"))
    files = snapshot(notebook, module)
    result = cli(project, "sync")
    assert result.exit_code == 2
    assert f"error: src/shop/nb.py, line {line}: " in result.output
    assert message in result.output
    assert "hint:" in result.output
    assert snapshot(notebook, module) == files


def test_a_block_whose_cell_is_gone_is_refused(project: Path) -> None:
    notebook = write_notebook(
        project, "nb.ipynb", [code("A = 1", "export"), code("B = 2", "export")]
    )
    assert cli(project, "export").exit_code == 0
    module = project / "src/shop/nb.py"
    edit(module, "B = 2", "B = 3")
    nb = nbformat.read(notebook, 4)
    gone = nb.cells.pop(1).id
    nbformat.write(nb, notebook)
    files = snapshot(notebook, module)
    result = cli(project, "sync")
    assert result.exit_code == 2
    assert (
        f"the block of cell id={gone} has no cell in notebooks/nb.ipynb"
        in result.output
    )
    assert snapshot(notebook, module) == files
    # the block untouched, the cell deleted on purpose: export drops it, no refusal
    edit(module, "B = 3", "B = 2")
    edit(module, "A = 1", "A = 5")
    assert cli(project, "sync").exit_code == 0
    assert [source(c) for c in cells_of(notebook)] == ["A = 5"]
    assert "B = 2" not in module.read_text()
    assert_clean_export(project)


def test_an_edit_the_cell_cannot_keep_is_refused(project: Path) -> None:
    """A setup block given an assertion would become a test function on export."""
    notebook = write_notebook(
        project,
        "nb.ipynb",
        [
            code("A = 1", "export"),
            code("value = A", "test"),
            code("assert value == 1", "test"),
        ],
    )
    assert cli(project, "export").exit_code == 0
    tests = project / "tests/test_nb.py"
    edit(tests, "value = A\n", "value = A\nassert value\n")
    files = snapshot(notebook, tests)
    result = cli(project, "sync")
    assert result.exit_code == 2
    assert (
        "error: notebooks/nb.ipynb, cell 3, line 1: the edits would not export"
        in result.output
    )
    assert "`value` is defined in cell 2, a test with assertions" in result.output
    assert snapshot(notebook, tests) == files


def test_check_lists_cells_and_writes_nothing(project: Path) -> None:
    notebook = nbdev_notebook(project)
    assert cli(project, "export").exit_code == 0
    core = project / "src/shop/core.py"
    edit(core, "return math.pi * r * r", "return math.pi * r**2")
    files = snapshot(notebook, core)
    result = cli(project, "sync", "--check")
    assert result.exit_code == 1
    assert "would update cell 3" in result.output
    assert "+    return math.pi * r**2" in result.output
    assert snapshot(notebook, core) == files
    data = json.loads(cli(project, "sync", "--check", "--json").output)
    assert data["check"] is True
    [change] = data["notebooks"][0]["changes"]
    assert change["index"] == 2 and change["action"] == "update"
    assert change["source"] == "#| export\ndef area(r):\n    return math.pi * r**2"


def test_a_failure_halfway_leaves_every_file_as_it_was(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = write_notebook(project, "nb.ipynb", [code("A = 1", "export")])
    assert cli(project, "export").exit_code == 0
    module = project / "src/shop/nb.py"
    edit(module, "A = 1", "A = 2")
    manifest = project / ".nbprod/export.json"
    files = snapshot(notebook, module, manifest)
    real = os.replace
    calls = []

    def fail_second(src, dst):  # the disk fails after the notebook was replaced
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr("nbprod.export.sync.os.replace", fail_second)
    with pytest.raises(OSError, match="disk full"):
        sync_notebooks(load_config(project))
    assert snapshot(notebook, module, manifest) == files
    assert not [p for p in (project / "notebooks").iterdir() if p.suffix == ".tmp"]


def test_export_and_push_suggest_sync(project: Path) -> None:
    write_notebook(project, "nb.ipynb", [code("A = 1", "export")])
    assert cli(project, "export").exit_code == 0
    edit(project / "src/shop/nb.py", "A = 1", "A = 2")
    write_notebook(project, "nb.ipynb", [code("A = 1\nB = 1", "export")])
    result = cli(project, "export")
    assert result.exit_code == 1
    assert "pull the edits into the notebook with a sync" in result.output
    assert "try: `nbprod sync` or `nbprod export --force`" in result.output


# -- the server route ----------------------------------------------------------


@pytest.fixture
def served(jp_root_dir: Path) -> Path:
    """A project in the server's root, written before the server starts."""
    (jp_root_dir / "pyproject.toml").write_text(PYPROJECT)
    return jp_root_dir


@pytest.fixture
def jp_server_config(served: Path) -> dict:
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbprod": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        }
    }


async def post_sync(jp_fetch, body: dict) -> tuple[int, dict]:
    from tornado.httpclient import HTTPClientError

    try:
        response = await jp_fetch(
            "nbprod",
            "api",
            "notebooks",
            "notebooks/nb.ipynb",
            "sync",
            method="POST",
            body=json.dumps(body),
        )
    except HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, json.loads(exc.response.body)
    return response.code, json.loads(response.body)


async def test_the_server_route_checks_syncs_and_answers_409_on_conflicts(
    jp_fetch, served: Path
) -> None:
    root = served
    notebook = write_notebook(
        root, "nb.ipynb", [code("def f(x):\n    return x + 1", "export")]
    )
    assert cli(root, "export").exit_code == 0
    module = root / "src/shop/nb.py"
    edit(module, "return x + 1", "return x + 2")

    status, data = await post_sync(jp_fetch, {"check": True})
    assert status == 200 and data["check"] is True and data["ok"] is False
    [change] = data["notebooks"][0]["changes"]
    assert change["action"] == "update" and "+    return x + 2" in change["diff"]
    assert source(cells_of(notebook)[0]) == "def f(x):\n    return x + 1"

    nb = nbformat.read(notebook, 4)
    nb.cells[0].source = "def f(x):\n    return x + 3"
    nbformat.write(nb, notebook)
    status, data = await post_sync(jp_fetch, {})
    assert status == 409
    assert data["error"]["type"] == "sync_conflict"
    [conflict] = data["notebooks"][0]["conflicts"]
    assert conflict["first_line"] == "def f(x):"
    assert "+    return x + 3" in conflict["notebook_diff"]

    status, data = await post_sync(jp_fetch, {"prefer": "module"})
    assert status == 200 and data["ok"] is True
    assert data["notebooks"][0]["status"] == "synced"
    assert source(cells_of(notebook)[0]) == "def f(x):\n    return x + 2"
    assert_clean_export(root)

    status, data = await post_sync(jp_fetch, {"prefer": "both"})
    assert status == 400 and "'prefer' must be" in data["error"]["message"]


def test_a_notebook_keeps_its_own_json_style(project: Path) -> None:
    """Written back the way it was written (here indent 2, keys unsorted), so its
    diff is only the changed source line."""
    path = write_notebook(project, "nb.ipynb", [code("A = 1\nB = 2", "export")])
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data, indent=2))
    assert cli(project, "export").exit_code == 0
    edit(project / "src/shop/nb.py", "B = 2", "B = 3")
    before = path.read_text().splitlines()
    assert cli(project, "sync").exit_code == 0
    after = path.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [('        "B = 2"', '        "B = 3"')]
