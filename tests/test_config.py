"""Project configuration: finding the root, defaults, validation, the database URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbprod.config import default_jobs, find_project_root, identifier, load_config
from nbprod.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("01_Data-Prep", "data_prep"),
        ("02_train", "train"),
        ("Score model", "score_model"),
        ("2024", "module"),
        ("__init__", "init"),
        ("a--b", "a_b"),
    ],
)
def test_identifier_turns_notebook_names_into_module_names(
    name: str, expected: str
) -> None:
    assert identifier(name) == expected


def test_a_folder_without_configuration_gets_every_default(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    config = load_config(tmp_path / "sub")
    assert config.root == (tmp_path / "sub").resolve()
    assert not config.configured
    assert (config.source, config.tests, config.runs) == ("", "tests", "runs")
    assert config.package == "sub"


def test_the_root_is_the_nearest_folder_with_a_tool_nbprod_table(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "Churn-Model"\n\n[tool.nbprod]\nsource = "src"\n'
    )
    deep = tmp_path / "notebooks" / "drafts"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == tmp_path.resolve()
    config = load_config(deep)
    assert config.configured and config.root == tmp_path.resolve()
    assert config.package == "churn_model"
    assert config.package_dir == tmp_path.resolve() / "src" / "churn_model"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('package = "not-an-identifier"', "not a Python import name"),
        ("gate = 3", "[tool.nbprod.gate] must be a table"),
        ('gate = { lint = "black" }', "gate.lint must be a list"),
        ('gate = { tests = "tests" }', "gate.tests must be a list of test folders"),
        ("push = { strip_outputs = 1 }", "strip_outputs must be true or false"),
        ("source = 1", "source"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_file(
    tmp_path: Path, table: str, message: str
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.nbprod]\n{table}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert message in caught.value.message
    assert caught.value.location is not None
    assert caught.value.location.path == str(pyproject)


def test_invalid_toml_keeps_the_parser_position(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.nbprod\npackage = 1\n")
    with pytest.raises(ConfigError, match="line 1"):
        load_config(tmp_path)


def test_a_relative_sqlite_url_is_made_absolute_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod]\ndatabase = "sqlite:///state/h.db"\n'
    )
    monkeypatch.delenv("NBPROD_DATABASE_URL", raising=False)
    config = load_config(tmp_path)
    assert config.database_url == f"sqlite:///{(tmp_path / 'state' / 'h.db').resolve()}"
    monkeypatch.setenv("NBPROD_DATABASE_URL", "postgresql+psycopg://h/db")
    assert config.database_url == "postgresql+psycopg://h/db"


def test_default_jobs_is_one_per_core_and_never_more_than_the_runs() -> None:
    cores = default_jobs()
    assert cores >= 1
    assert default_jobs(1) == 1
    assert default_jobs(0) == 1
    assert default_jobs(10_000) == cores
