"""``nbprod check``, ``nbprod push`` and ``nbprod init``: the gate, the gated push, setup."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from nbprod.cli import err, json_option, load_project, main, out
from nbprod.errors import GateFailedError, PushRejectedError

if TYPE_CHECKING:
    # imported when a command runs: `nbprod --help` must not pay for the gate
    from nbprod.gate import GateReport, StepResult

_STATUS = {"passed": "green", "failed": "bold red", "skipped": "dim"}
_RULE = re.compile(r"^[A-Z]+[0-9]+$")
_SEVERITY = {"error": "red", "warning": "yellow", "info": "dim"}


def _on_step(name: str, result: StepResult | None) -> None:
    if result is None:
        err.print(f"[dim]▸ {escape(name)}…[/]")


def _on_progress(message: str) -> None:
    err.print(f"[dim]  {escape(message)}[/]")


def render_gate(report: GateReport) -> None:
    """Print the gate's table of steps, then each step's findings."""
    table = Table(title=None, show_edge=False, pad_edge=False)
    table.add_column("step")
    table.add_column("status")
    table.add_column("passed", justify="right")
    table.add_column("time", justify="right")
    table.add_column("summary")
    for step in report.steps:
        table.add_row(
            step.name,
            f"[{_STATUS.get(step.status, '')}]{step.status}[/]",
            f"{step.passed}/{step.total}" if step.status != "skipped" else "-",
            f"{step.duration:.1f}s",
            escape(step.summary),
        )
    out.print(table)
    for step in report.steps:
        problems = step.problems
        if not problems:
            continue
        out.print(f"\n[bold]{escape(step.name)}[/]: {len(problems)} finding(s)")
        for finding in problems:
            where = finding.where
            # rule codes (F401) help; tool names (black, pytest) only repeat the step
            code = f"{finding.code} " if _RULE.match(finding.code or "") else ""
            if finding.name and finding.outcome and finding.path:
                # a test's function name, or a smoke run's id
                label = finding.name.rsplit("::", 1)[-1]
                label = f"run {label}" if finding.code == "smoke" else label
                code = f"{label} {finding.outcome}: "
            style = _SEVERITY.get(finding.severity, "")
            out.print(
                f"  [{style}]{escape(where)}[/]{': ' if where else ''}"
                f"[bold]{escape(code)}[/]{escape(finding.message)}"
            )
            if finding.hint:
                out.print(f"      [dim]hint: {escape(finding.hint)}[/]")
    verdict = "[bold green]Gate passed[/]" if report.ok else "[bold red]Gate failed[/]"
    out.print(f"\n{verdict} in {report.duration:.1f}s: {escape(report.summary())}")


def _step_names(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    # "--only lint,tests" and "--only lint --only tests" both work
    names = tuple(n.strip() for item in value for n in item.split(",") if n.strip())
    from nbprod.gate import gate_steps

    known = gate_steps.names()
    for name in names:
        if name not in known:
            raise click.BadParameter(
                f"no step {name!r} (the steps are: {', '.join(known)})"
            )
    return names


_project_option = click.option(
    "--project",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The project folder (default: found from the current folder).",
)


@main.command("check")
@click.option(
    "--only",
    multiple=True,
    callback=_step_names,
    metavar="STEP",
    help="Run only this step (repeatable).",
)
@click.option(
    "--skip",
    multiple=True,
    callback=_step_names,
    metavar="STEP",
    help="Do not run this step (repeatable).",
)
@json_option("Print the report as JSON.")
@_project_option
def check_command(
    only: tuple[str, ...], skip: tuple[str, ...], as_json: bool, project: Path | None
) -> None:
    """Run the quality gate: sync, lint, tests and smoke runs.

    Exit code 1 when a step fails. The report is kept in the run history.
    """
    config = load_project(project or Path.cwd())
    from nbprod.gate import run_gate

    report = run_gate(
        config, only=only, skip=skip, on_step=_on_step, on_progress=_on_progress
    )
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        render_gate(report)
    click.get_current_context().exit(report.exit_code)


@main.command("push")
@click.option(
    "-m", "--message", required=True, help="The commit message (kept as typed)."
)
@click.option(
    "--remote", help="The remote (default: tool.nbprod.push.remote, else origin)."
)
@click.option(
    "--branch",
    help="The remote branch (default: tool.nbprod.push.branch, else the current branch).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be committed and pushed; change nothing.",
)
@json_option()
@_project_option
def push_command(
    message: str,
    remote: str | None,
    branch: str | None,
    dry_run: bool,
    as_json: bool,
    project: Path | None,
) -> None:
    """Export, run the gate, and only if it passes commit and push.

    Notebooks are committed without outputs (your copy keeps them). Nothing is
    committed or pushed when the gate fails; nbprod never force-pushes.
    """
    from nbprod.ship.push import push_project

    config = load_project(project or Path.cwd())
    try:
        result = push_project(
            config,
            message,
            remote=remote,
            branch=branch,
            dry_run=dry_run,
            on_step=None if as_json else _on_step,
            on_progress=None if as_json else _on_progress,
        )
    except (GateFailedError, PushRejectedError) as exc:
        # the gate's table first, then the one-line error (the group prints JSON)
        if not as_json and exc.report is not None:
            render_gate(exc.report)
        raise
    if as_json:
        out.print_json(json.dumps({"ok": True, **result.to_dict()}))
        return
    if dry_run:
        out.print("[bold]Dry run[/]: nothing exported, committed or pushed.")
        if result.exported:
            out.print("The export would write:")
            for path in result.exported:
                out.print(f"  {escape(path)}")
        out.print(
            "The commit would hold:" if result.files else "Nothing new to commit."
        )
        for path in result.files:
            out.print(f"  {escape(path)}")
        _print_ignored(result.ignored)
        out.print("Message:")
        for line in result.message.rstrip("\n").splitlines():
            out.print(f"  | {escape(line)}")
        out.print(
            f"Then: git push {escape(result.remote)} HEAD:{escape(result.branch)} "
            f"({escape(result.url)}), after the gate passes."
        )
        return
    assert result.report is not None
    render_gate(result.report)
    _print_ignored(result.ignored)
    short = (result.commit or "")[:12]
    if result.files:
        out.print(
            f"Committed {short} ({len(result.files)} file(s)): {escape(result.message.splitlines()[0])}"
        )
    else:
        out.print(f"Nothing new to commit; pushing {short}.")
    out.print(
        f"[green]Pushed[/] to {escape(result.remote)} ({escape(result.url)}) "
        f"branch {escape(result.branch)}."
    )


def _print_ignored(paths: list[str]) -> None:
    if paths:
        out.print(
            f"[yellow]Not committed[/] (your .gitignore ignores them): {escape(', '.join(paths))}"
        )


_INIT_STYLE = {
    "created": "green",
    "updated": "yellow",
    "unchanged": "dim",
    "manual": "bold yellow",
}


@main.command("init")
@click.argument(
    "folder", default=".", type=click.Path(path_type=Path, file_okay=False, exists=True)
)
@click.option(
    "--package", help="Import name of the package (default: from the project's name)."
)
@click.option(
    "--from-nbdev",
    "from_nbdev",
    is_flag=True,
    help="An nbdev project: [tool.nbprod] from its settings, its notebook tests tagged `test`.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="With --from-nbdev: show what would be tagged and written; change nothing.",
)
@click.option(
    "--skip-hidden",
    is_flag=True,
    help="With --from-nbdev: leave `#| hide` cells untagged.",
)
@json_option("Print what was done as JSON.")
def init_command(
    folder: Path,
    package: str | None,
    from_nbdev: bool,
    dry_run: bool,
    skip_hidden: bool,
    as_json: bool,
) -> None:
    """Set FOLDER (default: here) up: config, package, tests, git filter, hook, CI file.

    Only what is missing is added; running it again changes nothing.
    """
    from nbprod.ship.init import init_project

    if (dry_run or skip_hidden) and not from_nbdev:
        raise click.UsageError("--dry-run and --skip-hidden go with --from-nbdev")
    moved = None
    if from_nbdev:
        from nbprod.ship.from_nbdev import move_from_nbdev

        moved = move_from_nbdev(folder, dry_run=dry_run, skip_hidden=skip_hidden)
        if dry_run:
            if as_json:
                out.print_json(json.dumps(moved.to_dict()))
            else:
                _render_nbdev_move(moved)
            return
    result = init_project(folder, package=package)
    if as_json:
        data = result.to_dict()
        if moved is not None:
            data["from_nbdev"] = moved.to_dict()
        out.print_json(json.dumps(data))
        return
    if moved is not None:
        _render_nbdev_move(moved)
    for action in result.actions:
        style = _INIT_STYLE.get(action.status, "")
        detail = action.detail.splitlines()[0] if action.detail else ""
        out.print(
            f"  [{style}]{action.status:<9}[/] {escape(action.path)}"
            + (f"  [dim]{escape(detail)}[/]" if detail else "")
        )
        if action.status == "manual":
            out.print(escape("\n".join(action.detail.splitlines()[1:])), markup=False)
    if result.changed:
        out.print(f"[green]nbprod project ready[/] in {escape(str(result.root))}.")
    else:
        out.print(f"Already set up: nothing changed in {escape(str(result.root))}.")


def _render_nbdev_move(moved: Any) -> None:
    """Print the move from nbdev: the table, then one line per notebook."""
    settings = moved.settings
    would = "would " if moved.dry_run else ""
    if moved.dry_run:
        out.print("[bold]Dry run[/]: nothing is written.")
    out.print(f"nbdev settings from {escape(settings.origin)}")
    if moved.table:
        out.print(f"pyproject.toml: {would}add")
        out.print(moved.table.rstrip("\n"), markup=False)
    else:
        out.print("pyproject.toml: [tool.nbprod] present, left as it is", markup=False)
    tests = setup = 0
    for nb in moved.notebooks:
        if nb.skipped:
            out.print(
                f"  [dim]{escape(nb.notebook)}: not tested by nbdev ({escape(nb.skipped)})[/]"
            )
            continue
        tests += nb.count("test")
        setup += nb.count("setup")
        parts = [f"{nb.count('test')} test cell(s)", f"{nb.count('setup')} setup"]
        if nb.count("already tagged"):
            parts.append(f"{nb.count('already tagged')} already tagged")
        skipped = ", ".join(f"{n} {reason}" for reason, n in nb.skip_reasons.items())
        line = f"  {escape(nb.notebook)}: {would}tag {', '.join(parts)}"
        if skipped:
            line += f" [dim](left untagged: {escape(skipped)})[/]"
        out.print(line)
        for problem in nb.problems:
            cell = problem.location.cell
            where = f"cell {cell + 1}: " if cell is not None else ""
            out.print(
                f"    [yellow]{problem.severity}[/] {escape(where + problem.message)}"
            )
    out.print(
        f"{'Would tag' if moved.dry_run else 'Tagged'} {tests} test cell(s) and "
        f"{setup} setup cell(s) in {len(moved.notebooks)} notebook(s); "
        "then `nbprod export` writes them as pytest tests."
    )
