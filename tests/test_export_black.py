"""Exported files are exactly what black's safe mode leaves unchanged (benchmark corpus, example)."""

from __future__ import annotations

import importlib.util
import shutil
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


UGLY = "def f(a,b):\n  return {'a':a,'b':b}\nx=[1,\n2]\n"


def test_the_format_cache_gives_blacks_output_keyed_by_text_and_settings(
    tmp_path, monkeypatch
):
    from nbprod.export import blackcache

    monkeypatch.setenv(blackcache.CACHE_ENV, str(tmp_path / "cache"))
    style = (("line-length", 88),)
    first = blackcache.format_source(UGLY, style)
    assert first == black.format_str(UGLY, mode=blackcache.mode_from_style(style))
    [entry] = (tmp_path / "cache").rglob("*.py")
    assert entry.read_text() == first
    misses = blackcache.misses
    assert blackcache.format_source(UGLY, style) == first
    assert blackcache.misses == misses  # read back, not formatted again
    # other settings or other text are other entries
    narrow = blackcache.format_source(UGLY, (("line-length", 10),))
    assert narrow != first and narrow.startswith("def f(\n    a, b\n):")
    blackcache.format_source(UGLY + "y = 1\n", style)
    assert len(list((tmp_path / "cache").rglob("*.py"))) == 3
    assert blackcache.misses == misses + 2


def test_the_format_cache_can_be_turned_off_and_is_kept_bounded(tmp_path, monkeypatch):
    from nbprod.export import blackcache

    monkeypatch.setenv(blackcache.CACHE_ENV, "")
    assert blackcache.format_source(UGLY, ()) == black.format_str(
        UGLY, mode=black.Mode()
    )
    assert blackcache.cache_dir() is None
    monkeypatch.setenv(blackcache.CACHE_ENV, str(tmp_path))
    for n in range(5):
        blackcache.format_source(f"x = {n}\n", ())
    assert blackcache.prune(tmp_path, keep=2) == 3
    assert len(list(tmp_path.rglob("*.py"))) == 2
    # invalid code is black's error, and nothing is cached for it
    with pytest.raises(black.InvalidInput):
        blackcache.format_source("def (:\n", ())
    assert len(list(tmp_path.rglob("*.py"))) == 2


def test_a_cold_export_of_cells_formatted_before_is_identical_without_black(
    tmp_path, monkeypatch
):
    import subprocess
    import sys

    project = tmp_path / "p"
    project.mkdir()
    load_bench().make_nbdev_corpus(project, 9)
    env = {"NBPROD_FORMAT_CACHE": str(tmp_path / "cache")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # in a fresh process, like the command line: it must not import black
    script = (
        "import sys\nfrom nbprod.config import load_config\n"
        "from nbprod.export import export_notebooks\n"
        "r = export_notebooks(load_config('.'))\n"
        "print(r.exit_code, 'black' in sys.modules, 'nbformat' in sys.modules)\n"
    )

    def cold() -> tuple[str, dict[str, str]]:
        for folder in ("src", "tests", ".nbprod"):
            shutil.rmtree(project / folder, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        )
        files = sorted((project / "src").rglob("*.py")) + sorted(
            (project / "tests").rglob("*.py")
        )
        return done.stdout.split(), {str(p): p.read_text() for p in files}

    first_out, first = cold()
    again_out, again = cold()
    # nor nbformat (jsonschema): the plan reads well-formed notebooks without it
    assert first_out == ["0", "True", "False"]
    assert again_out == ["0", "False", "False"]
    assert again == first and len(first) >= 18
    assert assert_black_leaves_unchanged(project) == len(first)
