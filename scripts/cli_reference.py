"""Write docs/cli.md, the command line reference, from the commands themselves.

Run it after adding or changing a command or an option:

    .venv/bin/python scripts/cli_reference.py

``tests/test_docs.py`` fails while docs/cli.md differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

from nbprod.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"

INTRO = """\
# Command line reference

One verb per job. Every command works from any folder inside a project (or takes
`--project`), prints a table or, with `--json`, JSON; errors are one line with a hint
(or `{"ok": false, "error": {...}}` under `--json`). Exit codes: 0 ok, 1 the work found a
problem (a gate failed, a run failed, a stale export), 2 bad usage or bad input.

This page is written by `scripts/cli_reference.py` from the commands' own help.
"""


def render() -> str:
    """Return the Markdown reference of every command."""
    parts = [INTRO]
    runner = CliRunner()
    with click.Context(main, info_name="nbprod") as ctx:
        names = main.list_commands(ctx)
    for name in names:
        # the help exactly as `nbprod NAME --help` prints it on an 88-column terminal
        words = [[name]]
        command = main.get_command(ctx, name)
        if isinstance(command, click.Group):  # `nbprod warm start` and its siblings
            words += [[name, sub] for sub in command.list_commands(ctx)]
        for args in words:
            result = runner.invoke(
                main, [*args, "--help"], prog_name="nbprod", terminal_width=88
            )
            title = "#" * (len(args) + 1)
            parts.append(
                f"{title} `nbprod {' '.join(args)}`\n\n```\n{result.output}```\n"
            )
    return "\n".join(parts)


if __name__ == "__main__":
    DOCS.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOCS}\n")
