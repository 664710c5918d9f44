"""Errors on the command line: one line and a hint, or the same JSON for every command."""

from __future__ import annotations

import json
from pathlib import Path

import click
import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_notebook

from nbprod.cli import main


def _broken_notebook(folder: Path) -> Path:
    path = folder / "broken.ipynb"
    path.write_text("{ not json", encoding="utf-8")
    return path


def test_an_error_under_json_is_json_on_stdout_for_run_and_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a notebook outside any project runs in the working folder's: keep it here
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    notebook = _broken_notebook(tmp_path)
    run = runner.invoke(main, ["run", str(notebook), "--json"])
    assert run.exit_code == 2
    error = json.loads(run.stdout)["error"]
    assert error["type"] == "bad_notebook" and "broken.ipynb" in json.dumps(error)

    check = runner.invoke(main, ["check", "--json", "--project", str(tmp_path)])
    assert check.exit_code == 2
    body = json.loads(check.stdout)
    assert body["ok"] is False and body["error"]["type"] == "bad_config"
    assert body["error"]["actions"] == ["init"]


def test_a_plain_error_is_one_line_with_the_command_that_fixes_it(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(main, ["check", "--project", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "not an nbprod project" in lines[0]
    assert lines[-1] == "  try: `nbprod init`"
    assert "Traceback" not in result.output


def test_a_hand_edited_export_offers_the_forced_export(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.nbprod]\npackage = "pkg"\n')
    notebook = new_notebook(
        cells=[new_code_cell("def f():\n    return 1", metadata={"tags": ["export"]})]
    )
    nbformat.write(notebook, tmp_path / "mod.ipynb")
    runner = CliRunner()
    assert runner.invoke(main, ["export", "--project", str(tmp_path)]).exit_code == 0
    module = tmp_path / "pkg" / "mod.py"
    module.write_text(module.read_text() + "\n# a reviewer's note\n")
    result = runner.invoke(main, ["export", "--project", str(tmp_path)])
    assert result.exit_code == 1
    assert "`nbprod export --force`" in result.stderr


def test_every_command_is_in_the_lazy_command_table():
    from nbprod.cli import COMMAND_MODULES, main

    ctx = click.Context(main)
    listed = main.list_commands(ctx)  # imports every command module
    assert sorted(listed) == sorted(COMMAND_MODULES)
    for name, module in COMMAND_MODULES.items():
        assert main.get_command(ctx, name).callback.__module__ == f"nbprod.cli.{module}"
