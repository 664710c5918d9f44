"""``nbprod warm start|status|stop``: keep a project's warm kernels between commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from nbprod.cli import json_option, load_project, main, out
from nbprod.config import ProjectConfig
from nbprod.errors import ConfigError, KeeperError, Location


@main.group()
def warm() -> None:
    """Keep warm kernels between commands (a keeper process, like JupyterLab's).

    Without JupyterLab, each `nbprod run` or `nbprod batch` imports the
    notebook's libraries (pandas, scikit-learn…) afresh. A keeper keeps that
    template for the next command, and exits after its idle time. Setting
    `keep_warm = MINUTES` under [tool.nbprod.run] starts one at the first run.
    """


_project_option = click.option(
    "--project",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The project folder (default: found from the notebooks or the current folder).",
)


def _project(start: Path | str = ".") -> ProjectConfig:
    config = load_project(start)
    if not config.run.warm_kernels:
        raise ConfigError(
            "warm kernels are off in this project",
            Location("pyproject.toml"),
            "set warm_kernels = true under [tool.nbprod.run]",
        )
    return config


def _modules_of(notebook: Path) -> tuple[str, ...]:
    from nbprod.run.warm import code_cells, notebook_imports

    return notebook_imports(code_cells(notebook.read_text("utf-8")))


def _server(found: dict[str, Any]) -> str:
    return f"JupyterLab's server (pid {found['pid']}) keeps this project's kernels warm"


def _template_line(entry: dict[str, Any]) -> str:
    if entry["ready"]:
        state, modules = (
            "ready",
            ", ".join(entry["preloaded"]) or "(nothing to preload)",
        )
    else:
        state, modules = "importing", ", ".join(entry["modules"])
    return (
        f"  template {entry['pid']}  {state}  forks {entry['forks']}  "
        f"kernels {entry['kernels']}  {escape(modules)}"
    )


@warm.command("start")
@click.argument(
    "notebooks", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--idle",
    type=click.FloatRange(min=0, min_open=True),
    help="Minutes without a command before it exits (default: keep_warm, else 30).",
)
@json_option()
@_project_option
def warm_start(
    notebooks: tuple[Path, ...], idle: float | None, as_json: bool, project: Path | None
) -> None:
    """Start the project's warm keeper, with templates for NOTEBOOKS ready.

    It waits until those templates have imported everything, so the next
    run starts at once. A keeper already running is asked for them instead.
    """
    from nbprod.run import keeper
    from nbprod.run.warm import TEMPLATE_START_TIMEOUT, ask_keeper

    config = _project(project or (notebooks[0].parent if notebooks else "."))
    minutes = idle or config.run.keep_warm or keeper.DEFAULT_IDLE_MINUTES
    began = time.monotonic()
    wanted = [_modules_of(path) for path in notebooks]
    found = keeper.start(config.state_dir, minutes * 60, config.run.preload)
    if not found["keeper"]:
        if as_json:
            click.echo(json.dumps({"ok": True, "keeper": found}, indent=2))
        else:
            out.print(_server(found))
        return
    for modules in wanted:
        if not ask_keeper(found["folder"], modules, config.run.preload):
            raise KeeperError(
                f"the warm keeper {found['pid']} would not keep a template",
                hint=f"see {config.state_dir / keeper.LOG_NAME}",
            )
    # ready means imported: the next command forks at once
    deadline = time.monotonic() + TEMPLATE_START_TIMEOUT
    while True:
        state = keeper.status(config.state_dir)
        if state is None:
            raise KeeperError(
                "the warm keeper exited while its templates started",
                hint=f"see {config.state_dir / keeper.LOG_NAME}",
            )
        ready = {tuple(t["modules"]) for t in state["templates"] if t["ready"]}
        if all(modules in ready for modules in wanted):
            break
        if time.monotonic() > deadline:
            raise KeeperError("the warm templates did not start in time")
        time.sleep(0.05)
    state["started"] = found["started"]
    state["seconds"] = round(time.monotonic() - began, 3)
    if as_json:
        click.echo(json.dumps({"ok": True, "keeper": state}, indent=2))
        return
    verb = "started" if found["started"] else "already running"
    out.print(
        f"warm keeper {state['pid']} {verb}: exits after {state['idle'] / 60:g} "
        f"idle min; ready in {state['seconds']:.1f} s"
    )
    for entry in state["templates"]:
        out.print(_template_line(entry))


@warm.command("status")
@json_option()
@_project_option
def warm_status(as_json: bool, project: Path | None) -> None:
    """Show what keeps the project's kernels warm, and its templates."""
    from nbprod.run import keeper

    config = load_project(project or ".")
    state = keeper.status(config.state_dir)
    if as_json:
        click.echo(json.dumps({"ok": True, "keeper": state}, indent=2))
        return
    if state is None:
        out.print(
            "no warm keeper runs for this project (`nbprod warm start` starts one)"
        )
        return
    if not state["keeper"]:
        out.print(_server(state))
        return
    stopping = f"; stopping: {state['stopping']}" if state["stopping"] else ""
    out.print(
        f"warm keeper {state['pid']}: exits after {state['idle'] / 60:g} idle min "
        f"({state['idle_left'] / 60:.1f} min left){stopping}"
    )
    for entry in state["templates"]:
        out.print(_template_line(entry))
    if not state["templates"]:
        out.print("  no templates yet: the next run or batch starts one")


@warm.command("stop")
@json_option()
@_project_option
def warm_stop(as_json: bool, project: Path | None) -> None:
    """Stop the project's warm keeper (running kernels finish first)."""
    from nbprod.run import keeper

    config = load_project(project or ".")
    found = keeper.stop(config.state_dir)
    if as_json:
        click.echo(json.dumps({"ok": True, "keeper": found}, indent=2))
        return
    if found is None:
        out.print("no warm keeper runs for this project")
    elif not found["keeper"]:
        out.print(_server(found) + "; they stop with it")
    else:
        out.print(f"stopped the warm keeper {found['pid']}")
