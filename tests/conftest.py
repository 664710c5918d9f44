"""Fixtures shared by the test suites. Keep this file small: suite-specific
fixtures belong in their own test module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.postgres import PostgresServer, running_postgres

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...) for the server tests.
pytest_plugins = ["pytest_jupyter.jupyter_server"]

#: the repository root (the folder holding nbprod/ and examples/)
REPO_ROOT = Path(__file__).resolve().parent.parent
#: the example project, as committed (notebooks and configuration only)
CHURN_EXAMPLE = REPO_ROOT / "examples" / "churn"
#: folders that nbprod generates in a project; never copied from the example
GENERATED = ("src", "tests", "runs", ".nbprod", ".ipynb_checkpoints", "__pycache__")


@pytest.fixture(autouse=True, scope="session")
def _private_format_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Black's cached output in a folder of the test run's, not the user's cache."""
    from nbprod.export.blackcache import CACHE_ENV

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("format-cache")))
        yield


@pytest.fixture
def churn_project(tmp_path: Path) -> Path:
    """A private copy of ``examples/churn`` (without generated folders)."""
    target = tmp_path / "churn"
    shutil.copytree(CHURN_EXAMPLE, target, ignore=shutil.ignore_patterns(*GENERATED))
    return target


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server, one per test process (xdist worker)."""
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty history database: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'history.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()
