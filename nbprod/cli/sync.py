"""``nbprod sync``: hand edits in generated modules and tests back into the notebooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from nbprod.cli import err, fail, json_option, load_project, main, out

if TYPE_CHECKING:
    # imported when the command runs: `nbprod --help` must stay fast
    from nbprod.export.sync import NotebookSync, SyncResult

_STATUS = {
    "unchanged": "dim",
    "synced": "green",
    "pending": "yellow",
    "conflict": "bold red",
    "refused": "bold red",
}


def _diff(text: str) -> None:
    if text:
        from rich.syntax import Syntax  # pygments: only for diffs

        out.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))


def _cell(index: int, cell_id: str | None, first_line: str) -> str:
    return f"cell {index + 1} (id {cell_id or '-'}, `{first_line.strip()}`)"


def _notebook_report(nb: NotebookSync, check: bool) -> None:
    out.print(f"[bold]{escape(nb.notebook)}[/] [{_STATUS[nb.status]}]{nb.status}[/]")
    for change in nb.changes:
        verb = {"update": "updates", "insert": "inserts", "untag": "untags"}[
            change.action
        ]
        origin = f"{change.file}, line {change.line}" if change.line else change.file
        out.print(
            f"  {'would ' + verb[:-1] if check else verb} "
            f"{escape(_cell(change.index, change.cell_id, change.first_line))}"
            f" [dim]from {escape(origin)}[/]"
        )
        _diff(change.diff)
    for conflict in nb.conflicts:
        out.print(
            f"  [bold red]conflict[/] "
            f"{escape(_cell(conflict.index, conflict.cell_id, conflict.first_line))}"
            f" [dim]{escape(conflict.file)}, line {conflict.line}[/]"
        )
        _diff(conflict.module_diff)
        _diff(conflict.notebook_diff)
    for note in nb.notes:
        out.print(f"  [dim]note: {escape(note)}[/]")
    for file in nb.files:
        if file.status == "written":
            out.print(f"  [green]written[/]   {escape(file.path)}")
    if nb.error is not None:
        fail(nb.error)


def render_sync(result: SyncResult) -> None:
    """Print the per-notebook report of a sync."""
    for nb in result.notebooks:
        _notebook_report(nb, result.check)
    changed = sum(len(nb.changes) for nb in result.notebooks if nb.error is None)
    refused = len(result.refused)
    if refused:
        err.print(
            f"[bold red]{refused} notebook(s) refused:[/] nothing written to them."
        )
    if result.check:
        if changed:
            out.print(f"[yellow]{changed} cell(s) would change:[/] run `nbprod sync`.")
        elif not refused:
            out.print("[green]In sync:[/] no hand edits to bring back.")
    elif changed or any(nb.status == "synced" for nb in result.notebooks):
        synced = sum(nb.status == "synced" for nb in result.notebooks)
        out.print(
            f"Synced {synced} notebook(s): {changed} cell(s) changed; "
            "generated files rewritten from the notebook."
        )
    elif not refused:
        out.print("Nothing to sync: the generated files are as export wrote them.")


@main.command("sync")
@click.argument("notebooks", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 listing the cells a sync would change.",
)
@click.option(
    "--prefer",
    type=click.Choice(["module", "notebook"]),
    help="Settle cells changed on both sides: take the file's code, or keep the cell's.",
)
@click.option(
    "--allow-delete",
    is_flag=True,
    help="A block deleted from a generated file takes its cell's export role away.",
)
@json_option("Print the report as JSON.")
@click.option(
    "--project",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The project folder (default: found from the notebooks or the current folder).",
)
def sync_command(
    notebooks: tuple[Path, ...],
    check: bool,
    prefer: str | None,
    allow_delete: bool,
    as_json: bool,
    project: Path | None,
) -> None:
    """Bring hand edits of generated modules and tests back into each NOTEBOOK's cells.

    Blocks are matched to cells by cell id. A cell changed in the notebook too
    (differently) is a conflict: the notebook is refused unless --prefer says
    which side wins. Exit 0 done, 1 conflicts, deletions or --check with cells
    to change, 2 bad input (unmappable edits, unreadable notebooks).
    """
    config = load_project(project or (notebooks[0] if notebooks else Path.cwd()))
    from nbprod.export.sync import sync_notebooks

    result = sync_notebooks(
        config,
        notebooks,
        check=check,
        prefer=prefer,  # type: ignore[arg-type]
        allow_delete=allow_delete,
    )
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        for error in result.errors:
            fail(error)
        render_sync(result)
    click.get_current_context().exit(result.exit_code)
