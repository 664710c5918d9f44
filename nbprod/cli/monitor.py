"""``nbprod monitor``: drift and metric checks of the latest runs; exit 1 on an alert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from nbprod.cli import main, out
from nbprod.config import find_project_root, load_config

if TYPE_CHECKING:
    from nbprod.monitor.checks import MonitorReport


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _what(check: dict[str, Any]) -> str:
    if check["kind"] == "metric":
        return str(check["metric"])
    if check["column"] is None:
        return f"{check['profile']} (all columns)"
    return f"{check['profile']}.{check['column']}"


def render_report(report: MonitorReport) -> None:
    """Print one notebook's report as a table, failures first."""
    if report.run is None:
        out.print(f"[bold]{escape(report.notebook)}[/]: no succeeded run yet")
        return
    state = (
        "[green]ok[/]" if report.ok else f"[bold red]ALERT[/] ({len(report.alerts)})"
    )
    baseline = (
        "itself (first run)"
        if report.baseline == report.run
        else report.baseline or "none yet"
    )
    out.print(
        f"[bold]{escape(report.notebook)}[/]  run {report.run}  "
        f"baseline {baseline}  {state}"
    )
    drifted = report.drifted_columns()
    if drifted:
        out.print(f"drifted columns: {escape(', '.join(drifted))}")
    if not report.checks:
        out.print("  no checks")
        return
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("", "kind", "check", "method", "statistic", "threshold", "detail"):
        table.add_column(column, overflow="fold", no_wrap=column != "detail")
    checks = sorted(
        (c.to_dict() for c in report.checks), key=lambda c: (c["ok"], not c["alert"])
    )
    for check in checks:
        if check["ok"]:
            mark = "[green]ok[/]"
        elif check["alert"]:
            mark = "[bold red]FAIL[/]"
        else:
            mark = "[yellow]drift[/]"
        table.add_row(
            mark,
            check["kind"],
            escape(_what(check)),
            check["method"],
            _number(check["statistic"]),
            _number(check["threshold"]),
            escape(check["detail"]),
        )
    out.print(table)


def _config(project: Path | None) -> Any:
    if project is not None:
        return load_config(project)
    return load_config(find_project_root(Path.cwd()) or Path.cwd())


@main.command("monitor")
@click.argument("notebooks", nargs=-1)
@click.option("--run", "run_id", help="Check this run instead of the latest ones.")
@click.option("--baseline", help="Compare with this run instead of the baseline.")
@click.option(
    "--set-baseline",
    "pin",
    metavar="RUN_ID",
    help="Pin this run as its notebook's baseline (recorded in the history).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--project",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The project folder (default: found from the current folder).",
)
def monitor_command(
    notebooks: tuple[str, ...],
    run_id: str | None,
    baseline: str | None,
    pin: str | None,
    as_json: bool,
    project: Path | None,
) -> None:
    """Drift and metric checks of the latest run of each monitored notebook.

    Exit code 0 when every check passes, 1 when any alert, 2 for bad input
    (an unknown notebook or run, a configuration error).
    """
    from nbprod.monitor.status import monitor_reports, set_baseline
    from nbprod.run.recovery import open_history

    config = _config(project)
    with open_history(config) as store:
        if pin:
            pinned = set_baseline(config, store, pin)
            if as_json:
                click.echo(json.dumps(pinned, indent=2))
            else:
                out.print(
                    f"baseline of {escape(pinned['notebook'])} is now run {pinned['run']}"
                )
            return
        reports = monitor_reports(config, store, list(notebooks), run_id, baseline)
    if as_json:
        data: Any = [r.to_dict() for r in reports]
        if len(reports) == 1:
            data = data[0]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif not reports:
        out.print(
            "no monitored notebooks: record a profile with nbprod.profile(name, data) "
            'or add [tool.nbprod.monitor."<notebook>"] to pyproject.toml'
        )
    for index, report in enumerate(reports if not as_json else []):
        if index:
            out.print()
        render_report(report)
    click.get_current_context().exit(0 if all(r.ok for r in reports) else 1)
