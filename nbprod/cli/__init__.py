"""The ``nbprod`` command line: one verb per job, each a thin front door to the core.

Every command translates its arguments into one core call and renders the
result (a rich table, or JSON with ``--json``). Errors the user can fix are
:class:`~nbprod.errors.NbprodError` and become one line on stderr and an exit
code: 0 ok, 1 the work found a problem, 2 bad usage or bad input.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from nbprod._version import __version__
from nbprod.config import ProjectConfig, load_config
from nbprod.errors import NbprodError

# Registered before the command runs, so it runs after the command's own exit
# handlers: the interpreter's last garbage collection then skips what the
# command built (sqlalchemy's models, nbformat's schema, ...), about 0.1 s of
# a batch's exit on the 2-core machine, for memory the process returns to the
# system anyway. Nothing waits on that collection: the history's connections
# are closed by their stores, files by `with`, logging by its own exit hook.
atexit.register(gc.freeze)

#: console for results (stdout) and for messages and progress (stderr)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


#: how the command line offers the remedies that core errors name
#: (:attr:`NbprodError.actions`); the JupyterLab panel shows buttons for them
CLI_ACTIONS = {
    "export": "nbprod export",
    "force_export": "nbprod export --force",
    "sync": "nbprod sync",
    "prefer_module": "nbprod sync --prefer module",
    "prefer_notebook": "nbprod sync --prefer notebook",
    "allow_delete": "nbprod sync --allow-delete",
    "init": "nbprod init",
}
#: ``ctx.meta`` key set by ``--json``: errors are then printed as JSON too
_JSON_MODE = "nbprod.json"

F = TypeVar("F", bound=Callable[..., Any])


def json_option(help_text: str = "Print the result as JSON.") -> Callable[[F], F]:
    """The ``--json`` flag of every command (the value arrives as ``as_json``).

    It also tells the error handler of :class:`NbprodGroup` to print an error
    as ``{"ok": false, "error": {...}}`` on stdout, the same for every command.
    """

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta[_JSON_MODE] = True
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        is_eager=True,
        callback=remember,
        help=help_text,
    )


def fail(exc: NbprodError) -> None:
    """Print an error as one line (plus its hint and the commands that fix it) on stderr."""
    where = f"{exc.location}: " if exc.location else ""
    err.print(f"[bold red]error:[/] {escape(where + exc.message)}")
    if exc.hint:
        err.print(f"  hint: {exc.hint}", markup=False)
    commands = [CLI_ACTIONS[action] for action in exc.actions if action in CLI_ACTIONS]
    if commands:
        err.print("  try: " + " or ".join(f"`{c}`" for c in commands), markup=False)


def report_error(exc: NbprodError) -> None:
    """Print an error the way the running command prints its results."""
    if click.get_current_context().meta.get(_JSON_MODE):
        click.echo(json.dumps({"ok": False, "error": exc.to_dict()}, indent=2))
    else:
        fail(exc)


_noted: set[str] = set()


def load_project(start: Path | str = ".") -> ProjectConfig:
    """Load the project's configuration, saying once where it came from.

    A project configured only by nbdev's settings (``[tool.nbdev]`` or
    ``settings.ini``) gets a one-line note on stderr, once per command.
    """
    config = load_config(start)
    if config.settings_note and config.settings_note not in _noted:
        _noted.add(config.settings_note)
        err.print(f"[dim]nbprod: {escape(config.settings_note)}[/]")
    return config


#: the module of ``nbprod.cli`` that defines each command; it is imported when
#: its command runs (or for ``--help``), so ``nbprod export`` in a pre-commit
#: hook does not load the run history, rich tables or psutil
COMMAND_MODULES = {
    "batch": "runs",
    "check": "ship",
    "deps": "deps",
    "export": "export",
    "init": "ship",
    "monitor": "monitor",
    "push": "ship",
    "run": "runs",
    "runs": "runs",
    "sync": "sync",
    "warm": "warm",
}


class NbprodGroup(click.Group):
    """A click group that loads its commands lazily and turns
    :class:`NbprodError` into its exit code."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None:
            importlib.import_module(f"nbprod.cli.{module}")  # registers it on main
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(f"nbprod.cli.{module}")
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NbprodError as exc:
            report_error(exc)
            ctx.exit(exc.exit_code)


@click.group(cls=NbprodGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbprod")
def main() -> None:
    """nbprod: take notebooks to production.

    Export tagged cells to a package and tests, run notebooks with parameters
    and keep a history of every run, and ship through a quality gate.
    """
