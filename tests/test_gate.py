"""``nbprod check``: the gate's steps, its report, its JSON, and where it is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.ship import EXPORT, PYPROJECT, make_project, nbprod, write_notebook

from nbprod.config import load_config
from nbprod.gate import run_gate
from nbprod.gate import steps as gate_step_module
from nbprod.gate.report import GateReport
from nbprod.gate.store import list_reports
from nbprod.history.store import HistoryStore


def test_check_json_shape_and_report_kept_in_history(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path)

    result = nbprod(root, "check", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert set(report) == {
        "id",
        "ok",
        "root",
        "started_at",
        "duration",
        "git_commit",
        "summary",
        "steps",
    }
    assert [s["name"] for s in report["steps"]] == [
        "sync",
        "deps",
        "lint",
        "tests",
        "smoke",
        "monitor",
    ]
    assert [s["status"] for s in report["steps"]] == [
        "passed",
        "passed",
        "passed",
        "passed",
        "skipped",
        "skipped",
    ]
    assert (
        report["summary"]
        == "passed (sync 3/3, deps 0/0, lint 4/4, tests 1/1, smoke -, monitor -)"
    )
    tests = report["steps"][3]
    assert set(tests) == {
        "name",
        "status",
        "passed",
        "total",
        "duration",
        "summary",
        "findings",
    }
    (case,) = tests["findings"]
    assert case["name"] == "tests/test_orders.py::test_cell_4"
    assert case["outcome"] == "passed" and case["severity"] == "info"
    store = HistoryStore(load_config(root).database_url)
    try:
        (kept,) = list_reports(store)
    finally:
        store.close()
    assert kept.to_dict() == report
    assert GateReport.from_dict(report).to_dict() == report


def test_findings_carry_file_line_col_and_the_report_reads_well(
    tmp_path: Path,
) -> None:
    root, _ = make_project(tmp_path)
    bad = EXPORT.replace("    return", "    rate = 1\n    return")
    write_notebook(root, export=bad, test="assert total(2, 3.0) == 7.0\n")
    assert nbprod(root, "export").exit_code == 0
    # and the notebook changes again, so the generated files are stale
    write_notebook(
        root, export=bad + "\n\nVAT = 0.2\n", test="assert total(2, 3.0) == 7.0\n"
    )

    result = nbprod(root, "check")

    assert result.exit_code == 1
    text = result.stdout
    assert "src/shop/orders.py:6: out of date with its notebook" in text
    assert "src/shop/orders.py:12:5: F841 Local variable `rate`" in text
    assert "notebooks/orders.ipynb:cell_3:3:5: F841" in text
    assert "tests/test_orders.py:11: test_cell_4 failed: assert 6.0 == 7.0" in text
    assert "Gate failed" in text
    assert (
        "failed (sync 1/3, deps 0/0, lint 2/4, tests 0/1, smoke -, monitor -)" in text
    )
    assert "Traceback" not in result.output

    report = json.loads(nbprod(root, "check", "--json", "--only", "tests").stdout)
    (case,) = report["steps"][0]["findings"]
    assert case["outcome"] == "failed" and case["line"] == 11
    assert case["message"] == "assert 6.0 == 7.0"


def test_only_and_skip(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path)

    only = json.loads(nbprod(root, "check", "--json", "--only", "sync").stdout)
    skip = json.loads(
        nbprod(
            root,
            "check",
            "--json",
            "--skip",
            "deps,lint,tests",
            "--skip",
            "smoke,monitor",
        ).stdout
    )
    unknown = nbprod(root, "check", "--only", "typing")

    assert [s["name"] for s in only["steps"]] == ["sync"]
    assert [s["name"] for s in skip["steps"]] == ["sync"]
    assert only["summary"] == "passed (sync 3/3)"
    assert unknown.exit_code == 2
    assert "no step 'typing'" in unknown.output


def test_unconfigured_folder_and_missing_tool_are_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = nbprod(plain, "check")
    assert result.exit_code == 2
    assert "not an nbprod project" in result.output and "nbprod init" in result.output

    root, _ = make_project(tmp_path, PYPROJECT.replace('"ruff"]', '"ruff", "pylint"]'))
    # ruff cannot be uninstalled here; the gate asks tool_installed, so ask it
    monkeypatch.setattr(gate_step_module, "tool_installed", lambda tool: tool != "ruff")
    report = run_gate(load_config(root), only=("lint",), save=False)
    messages = [f.message for f in report.steps[0].findings]
    assert "ruff is not installed in nbprod's environment" in messages
    assert "nbprod does not know the lint tool 'pylint'" in messages
    assert not report.ok


SMOKE = PYPROJECT + """
[tool.nbprod.gate.smoke]
"notebooks/orders.ipynb" = { n_rows = 3 }
"notebooks/missing.ipynb" = {}
"notebooks/other.ipynb" = { no_such_parameter = 1 }
"""


@pytest.mark.slow
def test_smoke_runs_a_real_kernel_and_records_the_run(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path, SMOKE)
    write_notebook(root, name="other.ipynb")

    result = nbprod(root, "check", "--json", "--only", "smoke")

    assert result.exit_code == 1
    (smoke,) = json.loads(result.stdout)["steps"]
    assert (smoke["passed"], smoke["total"]) == (1, 3)
    by_path = {f["path"]: f for f in smoke["findings"]}
    assert by_path["notebooks/orders.ipynb"]["outcome"] == "passed"
    assert by_path["notebooks/missing.ipynb"]["severity"] == "error"
    assert "no_such_parameter" in by_path["notebooks/other.ipynb"]["message"]
    store = HistoryStore(load_config(root).database_url)
    try:
        (run,) = store.list_runs()
    finally:
        store.close()
    assert run.id == by_path["notebooks/orders.ipynb"]["name"]
    assert run.status == "succeeded" and run.parameters == {"n_rows": 3}


def test_black_diffs_point_at_the_first_changed_line_and_cell(tmp_path: Path) -> None:
    from nbprod.gate.tools import ToolRun, parse_black

    diff = (
        "--- src/pkg/mod.py\t2026-01-01 00:00:00+00:00\n"
        "+++ src/pkg/mod.py\t2026-01-01 00:00:01+00:00\n"
        "@@ -3,4 +3,4 @@\n"
        " import os\n"
        " \n"
        "-x=1\n"
        "+x = 1\n"
        "--- nb.ipynb\t2026-01-01 00:00:00+00:00:cell_4\n"
        "+++ nb.ipynb\t2026-01-01 00:00:01+00:00:cell_4\n"
        "@@ -1,2 +1,2 @@\n"
        "-def f( a ):\n"
        "+def f(a):\n"
    )
    stderr = (
        "would reformat src/pkg/mod.py\nwould reformat nb.ipynb\n"
        "error: cannot format bad.py: Cannot parse for target version Python 3.10: "
        "2:7: def f(\n"
    )
    findings = parse_black(ToolRun(1, diff, stderr), tmp_path)
    assert [f.where for f in findings] == [
        "src/pkg/mod.py:5",
        "nb.ipynb:cell_5:1",
        "bad.py:2:7",
    ]
    assert findings[2].message.startswith("black cannot parse it")


def test_junit_failures_become_located_findings(tmp_path: Path) -> None:
    from nbprod.gate.tools import parse_junit

    xml = tmp_path / "junit.xml"
    xml.write_text("""<?xml version="1.0"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.test_m" name="test_ok" file="tests/test_m.py" line="3"/>
<testcase classname="tests.test_m" name="test_bad" file="tests/test_m.py" line="7">
<failure message="assert 1 == 2">def test_bad():
&gt;       assert 1 == 2
E       assert 1 == 2

tests/test_m.py:9: AssertionError</failure></testcase>
<testcase classname="tests.test_m" name="test_later" file="tests/test_m.py" line="11">
<skipped message="not yet"/></testcase>
</testsuite></testsuites>""")
    ok, bad, later = parse_junit(xml, tmp_path)
    assert (ok.outcome, ok.severity, ok.line) == ("passed", "info", 4)
    assert (bad.outcome, bad.severity, bad.line) == ("failed", "error", 9)
    assert bad.name == "tests/test_m.py::test_bad" and bad.message == "assert 1 == 2"
    assert (later.outcome, later.message) == ("skipped", "not yet")


def test_pytest_hints_name_nodes_pytest_can_run(tmp_path: Path) -> None:
    """Collection errors (the module does not import) and tests in classes: the
    hint's node, run as it says, finds the test instead of "not found"."""
    import subprocess
    import sys

    from nbprod.gate.tools import parse_junit, run_tool

    broken, classes = tmp_path / "broken", tmp_path / "classes"
    (broken / "tests" / "sub").mkdir(parents=True)
    (broken / "tests" / "test_imports.py").write_text(
        "import nosuchmodule\n\n\ndef test_a():\n    pass\n"
    )
    (broken / "tests" / "sub" / "test_syntax.py").write_text(
        "def test_b():\n    x = (\n"
    )
    (classes / "tests").mkdir(parents=True)
    (classes / "tests" / "test_classes.py").write_text(
        "class TestOrders:\n    def test_total(self):\n        assert 1 == 2\n"
    )
    findings = {}
    for folder in (broken, classes):
        xml = folder / "junit.xml"
        args = ["tests", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"]
        run_tool("pytest", [*args, "-o", "junit_family=xunit1"], folder)
        findings.update({(folder, f.path): f for f in parse_junit(xml, folder)})

    imports = findings[broken, "tests/test_imports.py"]
    assert imports.name == "tests/test_imports.py" and imports.line == 1
    assert imports.message == (
        "cannot collect the tests: ModuleNotFoundError: No module named 'nosuchmodule'"
    )
    syntax = findings[broken, "tests/sub/test_syntax.py"]
    assert syntax.name == "tests/sub/test_syntax.py" and syntax.line == 2
    assert "SyntaxError" in syntax.message
    in_class = findings[classes, "tests/test_classes.py"]
    assert in_class.name == "tests/test_classes.py::TestOrders::test_total"
    for (folder, _), finding in findings.items():
        assert finding.hint == f"run `pytest {finding.name}` to see the whole traceback"
        ran = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                finding.name,
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        # 1: the test failed, 2: the collection error; 4 is "not found"
        assert ran.returncode in (1, 2), ran.stdout
        assert "not found" not in ran.stdout and "no match" not in ran.stdout
