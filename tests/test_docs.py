"""The documentation stays true: the CLI reference is current, and every command
line the docs show names a real command with real options."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import click
import pytest

from nbprod.cli import main

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")]
)
#: `nbprod ...` in inline code, or a `$ nbprod ...` line of a transcript
COMMAND = re.compile(r"`(nbprod [^`]+)`|^\$ (nbprod .+)$", re.MULTILINE)


def _load_reference_writer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "cli_reference", REPO / "scripts" / "cli_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_is_written_from_the_commands() -> None:
    writer = _load_reference_writer()
    assert (REPO / "docs" / "cli.md").read_text(
        "utf-8"
    ) == writer.render(), (
        "docs/cli.md is stale: run `.venv/bin/python scripts/cli_reference.py`"
    )


def _documented_command_lines() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for match in COMMAND.finditer(page.read_text("utf-8")):
            found.append(
                (page.relative_to(REPO).as_posix(), match.group(1) or match.group(2))
            )
    return found


def _options(command: click.Command) -> set[str]:
    names = {"-h", "--help"}
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def test_the_docs_show_command_lines() -> None:
    # the check below must have something to check
    assert len(_documented_command_lines()) >= 20


@pytest.mark.parametrize(("page", "line"), _documented_command_lines())
def test_every_documented_command_line_names_a_real_command_and_options(
    page: str, line: str
) -> None:
    words = shlex.split(line.replace("…", ""), comments=True)
    assert words[0] == "nbprod"
    if len(words) == 1 or words[1] in ("--version", "--help", "-h"):
        return
    with click.Context(main) as ctx:
        command = main.get_command(ctx, words[1])
    assert command is not None, f"{page}: `{line}` names no command {words[1]!r}"
    known = _options(command)
    for word in words[2:]:
        if word.startswith("-") and not re.fullmatch(r"-?\d+(\.\d+)?", word):
            flag = word.split("=", 1)[0]
            assert flag in known, f"{page}: `{line}`: nbprod {words[1]} has no {flag}"
