"""Exported files are exactly what black's safe mode leaves unchanged (benchmark corpus, example)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import black
import pytest

from nbprod.config import load_config
from nbprod.export import export_notebooks
from nbprod.export.render import black_mode

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_export.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_export", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_black_leaves_unchanged(root: Path) -> int:
    mode = black_mode(root)
    files = sorted((root / "src").rglob("*.py")) + sorted(
        (root / "tests").rglob("*.py")
    )
    assert files
    for path in files:
        text = path.read_text("utf-8")
        # safe mode: black also checks the AST is equivalent and the output stable
        with pytest.raises(black.NothingChanged):
            black.format_file_contents(text, fast=False, mode=mode)
        assert black.format_str(text, mode=mode) == text
    return len(files)


def test_nbdev_shaped_corpus_is_black_exact(tmp_path):
    load_bench().make_nbdev_corpus(tmp_path, 3)
    result = export_notebooks(load_config(tmp_path), jobs=1)
    assert result.exit_code == 0, [str(p) for p in result.problems][:3]
    assert assert_black_leaves_unchanged(tmp_path) >= 6


def test_example_is_black_exact(churn_project):
    result = export_notebooks(load_config(churn_project), jobs=1)
    assert result.exit_code == 0
    assert assert_black_leaves_unchanged(churn_project) >= 3


def test_black_settings_are_read_again_when_pyproject_changes(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.black]\nline-length = 88\n")
    assert black_mode(tmp_path).line_length == 88
    pyproject.write_text("[tool.black]\nline-length = 100\n# a longer file\n")
    assert black_mode(tmp_path).line_length == 100
