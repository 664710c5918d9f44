"""``nbprod deps``: the package's imports against its declared dependencies; ``--add`` fixes them."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from nbprod.cli import json_option, load_project, main, out

if TYPE_CHECKING:
    # imported when the command runs: `nbprod --help` must stay fast
    from nbprod.gate.deps import DepsReport


def _render(report: DepsReport) -> None:
    declared = ", ".join(report.declared) or "(none)"
    if report.from_settings_ini:  # an old nbdev project: settings.ini `requirements`
        out.print(escape(f"{report.runtime_key}: {declared}"))
    else:
        out.print(escape(f"{report.pyproject} [project].dependencies: {declared}"))
    if report.test_group:
        tests = ", ".join(report.test_declared) or "(none)"
        out.print(escape(f"  test group {report.test_group}: {tests}"))
    out.print(
        f"third-party imports of the package and tests: "
        f"{escape(', '.join(report.needed)) or '(none)'}"
    )
    findings = report.findings()
    for finding in findings:
        style = "red" if finding.severity == "error" else "yellow"
        where = finding.where
        out.print(
            f"  [{style}]{escape(where)}[/]{': ' if where else ''}{escape(finding.message)}"
        )
        if finding.hint:
            out.print(f"      [dim]hint: {escape(finding.hint)}[/]")
    if report.ok:
        out.print("[green]Every import is declared.[/]")


@main.command("deps")
@click.option(
    "--add",
    is_flag=True,
    help="Write the missing distributions into pyproject.toml (lower bound: the installed version).",
)
@click.option(
    "--dry-run", is_flag=True, help="With --add: show the change, write nothing."
)
@json_option()
@click.option(
    "--project",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The project folder (default: found from the current folder).",
)
def deps_command(add: bool, dry_run: bool, as_json: bool, project: Path | None) -> None:
    """Check that pyproject.toml declares every third-party import of the package.

    Each undeclared import is named with its module and line, the notebook
    cell it came from and the distribution that provides it. Exit code 1 when
    something is missing (after --add: when something could not be added).
    """
    # the gate (and the export it plans with) loads only when the command runs
    from nbprod.gate import require_project
    from nbprod.gate.deps import add_dependencies, check_dependencies

    ctx = click.get_current_context()
    config = load_project(project or Path.cwd())
    require_project(config)
    if not add:
        if dry_run:
            raise click.UsageError("--dry-run goes with --add")
        report = check_dependencies(config)
        if as_json:
            out.print_json(json.dumps(report.to_dict()))
        else:
            _render(report)
        ctx.exit(0 if report.ok else 1)
    path = config.root / "pyproject.toml"
    before = path.read_text("utf-8") if path.is_file() else ""
    result, report = add_dependencies(config, dry_run=dry_run)
    if as_json:
        out.print_json(
            json.dumps(
                {**result.to_dict(), "dry_run": dry_run, "report": report.to_dict()}
            )
        )
        ctx.exit(1 if result.unresolved else 0)
    verb = "Would add" if dry_run else "Added"
    if result.created_project:
        out.print(escape(f"{verb} a minimal [project] table to {report.pyproject}."))
    if result.added:
        out.print(
            escape(f"{verb} to [project].dependencies: {', '.join(result.added)}")
        )
    if result.added_tests:
        out.print(
            f"{verb} to the test group {escape(str(result.test_group))}: "
            f"{escape(', '.join(result.added_tests))}"
        )
    if not result.changed:
        out.print("Nothing to add: every import is declared.")
    if dry_run and result.changed:
        diff = difflib.unified_diff(
            before.splitlines(keepends=True),
            result.text.splitlines(keepends=True),
            "a/pyproject.toml",
            "b/pyproject.toml",
        )
        out.print("".join(diff).rstrip("\n"), markup=False)
    for item in result.unresolved:
        out.print(
            f"[red]Not added[/]: no installed distribution provides `{escape(item.name)}` "
            f"(imported by {escape(item.sites[0].path)}:{item.sites[0].line}); "
            "install it, then run `nbprod deps --add` again"
        )
    ctx.exit(1 if result.unresolved else 0)
