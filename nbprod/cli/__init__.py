"""The ``nbprod`` command line: one verb per job, each a thin front door to the core.

Every command translates its arguments into one core call and renders the
result (a rich table, or JSON with ``--json``). Errors the user can fix are
:class:`~nbprod.errors.NbprodError` and become one line on stderr and an exit
code: 0 ok, 1 the work found a problem, 2 bad usage or bad input.
"""

from __future__ import annotations

# First, before anything imports jsonschema: spares every command ~1.4 s of CPU.
import nbprod.run.startup  # noqa: F401  # isort: skip

from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from nbprod._version import __version__
from nbprod.errors import NbprodError

#: console for results (stdout) and for messages and progress (stderr)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(exc: NbprodError) -> None:
    """Print an error as one line (plus its hint) on stderr."""
    where = f"{exc.location}: " if exc.location else ""
    err.print(f"[bold red]error:[/] {escape(where + exc.message)}")
    if exc.hint:
        err.print(f"  hint: {exc.hint}", markup=False)


class NbprodGroup(click.Group):
    """A click group that turns :class:`NbprodError` into its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NbprodError as exc:
            fail(exc)
            ctx.exit(exc.exit_code)


@click.group(cls=NbprodGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbprod")
def main() -> None:
    """nbprod: take notebooks to production.

    Export tagged cells to a package and tests, run notebooks with parameters
    and keep a history of every run, and ship through a quality gate.
    """


# Each module below adds its commands to ``main``; importing them registers them.
from nbprod.cli import export as _export  # noqa: E402,F401
from nbprod.cli import monitor as _monitor  # noqa: E402,F401
from nbprod.cli import runs as _runs  # noqa: E402,F401
from nbprod.cli import ship as _ship  # noqa: E402,F401
