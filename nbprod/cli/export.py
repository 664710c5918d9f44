"""``nbprod export``: notebooks to modules and tests, or ``--check`` that they are in sync."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from nbprod.cli import err, fail, json_option, load_project, main, out
from nbprod.errors import Problem

if TYPE_CHECKING:
    # imported when a command runs: `nbprod --help` must not pay for black
    from nbprod.export import ExportResult

_STYLE = {"error": "bold red", "warning": "yellow", "note": "dim"}
_STATUS = {"written": "green", "unchanged": "dim", "stale": "bold red"}


def _syntax(*args: Any, **kwargs: Any) -> Any:
    from rich.syntax import Syntax  # pygments: only for diffs

    return Syntax(*args, **kwargs)


def _problem_line(problem: Problem) -> str:
    where = problem.location
    place = ", ".join(
        part
        for part in (
            f"cell {where.cell + 1}" if where.cell is not None else "",
            f"line {where.line}" if where.line is not None else "",
        )
        if part
    )
    text = f"[{_STYLE[problem.severity]}]{problem.severity}[/] {escape(place + ': ' if place else '')}{escape(problem.message)}"
    if problem.hint:
        text += f"\n      [dim]hint: {escape(problem.hint)}[/]"
    return text


def render_report(result: ExportResult) -> None:
    """Print the per-notebook report of an export."""
    lines = []
    for nb in result.notebooks:
        target = f" → {nb.module}" if nb.module else ""
        lines.append(f"[bold]{escape(nb.notebook)}[/]{escape(target)}")
        for file in nb.files:
            lines.append(
                f"  [{_STATUS[file.status]}]{file.status:<9}[/] {escape(file.path)}"
            )
        if not nb.files and not nb.problems:
            lines.append("  [dim]nothing tagged export or test[/]")
        for problem in nb.problems:
            lines.append("  " + _problem_line(problem))
    if lines:
        # one print: rich renders each call separately, ~1 ms a call, and the
        # report of a no-change export in a pre-commit hook is its whole work
        out.print("\n".join(lines))
    files = [f for nb in result.notebooks for f in nb.files]
    counts = {status: sum(f.status == status for f in files) for status in _STATUS}
    errors = sum(p.severity == "error" for p in result.problems)
    if errors:
        out.print(
            f"[bold red]{errors} error(s): nothing written.[/] Fix them in the notebook and export again."
        )
    elif result.check:
        if counts["stale"]:
            for file in result.stale:
                out.print(
                    _syntax(
                        file.diff or "",
                        "diff",
                        theme="ansi_dark",
                        background_color="default",
                    )
                )
            out.print(
                f"[bold red]{counts['stale']} file(s) out of date[/] with their notebooks: run `nbprod export`."
            )
        else:
            out.print(f"[green]In sync:[/] {len(files)} file(s) match their notebooks.")
    else:
        out.print(
            f"Exported {len(result.notebooks)} notebook(s): "
            f"{counts['written']} file(s) written, {counts['unchanged']} unchanged."
        )


@main.command("export")
@click.argument("notebooks", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 with a diff when a file is stale.",
)
@click.option(
    "--force", is_flag=True, help="Overwrite generated files even if edited by hand."
)
@click.option(
    "--fix-ids",
    is_flag=True,
    help="Give cells without an id one (re-saves the notebook).",
)
@json_option("Print the report as JSON.")
@click.option(
    "--project",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The project folder (default: found from the notebooks or the current folder).",
)
def export_command(
    notebooks: tuple[Path, ...],
    check: bool,
    force: bool,
    fix_ids: bool,
    as_json: bool,
    project: Path | None,
) -> None:
    """Write the module and tests of each NOTEBOOK (default: all of the project's)."""
    config = load_project(project or (notebooks[0] if notebooks else Path.cwd()))
    from nbprod.export import export_notebooks

    result = export_notebooks(
        config, notebooks, check=check, force=force, fix_ids=fix_ids
    )
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        for error in result.errors:
            fail(error)
        if result.notebooks and not result.errors:
            render_report(result)
        elif result.errors:
            err.print("Nothing written.")
    click.get_current_context().exit(result.exit_code)
