"""Fixtures shared by the test suites. Keep this file small: suite-specific
fixtures belong in their own test module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...) for the server tests.
pytest_plugins = ["pytest_jupyter.jupyter_server"]

#: the repository root (the folder holding nbprod/ and examples/)
REPO_ROOT = Path(__file__).resolve().parent.parent
#: the example project, as committed (notebooks and configuration only)
CHURN_EXAMPLE = REPO_ROOT / "examples" / "churn"
#: folders that nbprod generates in a project; never copied from the example
GENERATED = ("src", "tests", "runs", ".nbprod", ".ipynb_checkpoints", "__pycache__")


@pytest.fixture
def churn_project(tmp_path: Path) -> Path:
    """A private copy of ``examples/churn`` (without generated folders)."""
    target = tmp_path / "churn"
    shutil.copytree(CHURN_EXAMPLE, target, ignore=shutil.ignore_patterns(*GENERATED))
    return target
