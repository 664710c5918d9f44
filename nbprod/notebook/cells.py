"""Cell roles: what each cell of a notebook is for.

A cell's role comes from its ``metadata.tags`` (the list JupyterLab's property
inspector edits and papermill reads) and from nbdev directives in its leading
comment lines, so nbdev notebooks work unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from nbprod.config import identifier
from nbprod.errors import Location, NotebookError

if TYPE_CHECKING:
    from nbformat import NotebookNode


class Role(str, Enum):
    """What a cell is for."""

    EXPORT = "export"
    #: exported, but kept out of ``__all__`` (nbdev's ``exporti``)
    EXPORT_INTERNAL = "exporti"
    TEST = "test"
    PARAMETERS = "parameters"
    #: exploration: never shipped
    NONE = "none"

    @property
    def exported(self) -> bool:
        """True for the roles whose code goes into a module."""
        return self in (Role.EXPORT, Role.EXPORT_INTERNAL)


#: tags in ``metadata.tags`` that give a role
ROLE_TAGS = {
    "export": Role.EXPORT,
    "exporti": Role.EXPORT_INTERNAL,
    "test": Role.TEST,
    "parameters": Role.PARAMETERS,
}

# `#| export`, `#|export other.mod`, `# | export` (as black writes it), Quarto's
# `#| fig-cap: ...`, and the old `# export` form of nbdev 1. A name is anything
# up to a blank or a colon, as nbdev reads it (fastcore.nbio).
_DIRECTIVE = re.compile(r"^#\s*\|\s*(?P<name>[^\s:]+)\s*:?\s*(?P<arg>.*?)\s*$")
_OLD_DIRECTIVE = re.compile(
    r"^#\s*(?:(?P<name>export|exporti|exports|hide)|(?P<exp>default_exp)\s+(?P<arg>\S+))\s*$"
)


@dataclass(frozen=True)
class Directive:
    """An nbdev directive from a cell's leading comment lines."""

    name: str
    argument: str
    line: int


@dataclass(frozen=True)
class Cell:
    """A code cell with its role.

    Parameters
    ----------
    index : int
        Zero-based position in the notebook (among all cells).
    cell_id : str or None
        The nbformat cell id, when the notebook has ids.
    role : Role
        What the cell is for.
    module : str or None
        For exported cells sent elsewhere with ``#| export other.mod``: that
        module, relative to the package. None for the notebook's own module.
    source : str
        The cell's code as the user wrote it (directive lines included, so
        line numbers stay those the user sees).
    directives : tuple of Directive
        The nbdev directives found in the leading comment lines.
    """

    index: int
    cell_id: str | None
    role: Role
    module: str | None
    source: str
    directives: tuple[Directive, ...] = ()

    def location(self, path: str, line: int | None = None) -> Location:
        """Return the location of this cell (and a line in it) in ``path``."""
        return Location(path, self.index, self.cell_id, line)

    def directive(self, name: str) -> str | None:
        """The argument of the directive ``name`` (``""`` when bare), or None."""
        return next((d.argument for d in self.directives if d.name == name), None)

    @property
    def evaluated(self) -> bool:
        """False for a cell nbdev never runs outside an editor: ``#| eval: false``."""
        return directives_evaluate(self.directives)


def parse_directives(source: str) -> tuple[Directive, ...]:
    """Read the nbdev directives from the leading comment lines of a cell.

    Parameters
    ----------
    source : str
        The cell's code.

    Returns
    -------
    tuple of Directive
        The directives in order; scanning stops at the first line that is not
        a comment or blank.
    """
    found = []
    for number, raw in enumerate(source.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("#"):
            break
        match = _DIRECTIVE.match(line)
        if match:
            found.append(Directive(match["name"].lower(), match["arg"], number))
            continue
        # nbdev 1 wrote `# export` alone on its line; a prose comment is not one
        old = _OLD_DIRECTIVE.match(line)
        if old:
            name = old["name"] or old["exp"]
            found.append(Directive(name.lower(), old["arg"] or "", number))
    return tuple(found)


def directives_evaluate(directives: tuple[Directive, ...]) -> bool:
    """False when the directives hold ``#| eval: false``.

    nbdev's test runner and Quarto skip such cells; nbprod never runs them as
    tests or in runs (it tags them ``skip-execution`` for papermill).
    """
    for directive in directives:
        if directive.name == "eval":
            return directive.argument.strip().lower() not in ("false", "no", "0")
    return True


def metadata_directives(cell: NotebookNode) -> tuple[Directive, ...]:
    """nbdev 3's directives kept in ``metadata.nbdev`` (``{"export": "true"}``)."""
    table = cell.get("metadata", {}).get("nbdev", {})
    if not isinstance(table, dict):
        return ()
    return tuple(
        # line 0: not a line of the source, so no source line is dropped for it
        Directive(str(k).lower(), "" if v in ("true", True) else str(v), 0)
        for k, v in table.items()
    )


def _role_from_directives(
    directives: tuple[Directive, ...],
) -> tuple[Role | None, str | None]:
    role: Role | None = None
    module: str | None = None
    for directive in directives:
        if directive.name in ("export", "exports"):
            role = Role.EXPORT
            module = directive.argument.split()[0] if directive.argument else None
        elif directive.name == "exporti":
            role = Role.EXPORT_INTERNAL
            module = directive.argument.split()[0] if directive.argument else None
        elif directive.name == "test":
            role = Role.TEST
        elif directive.name == "hide" and role is None:
            role = Role.NONE
    return role, module


def cell_tags(cell: NotebookNode) -> list[str]:
    """Return the cell's ``metadata.tags`` as a list of strings."""
    tags = cell.get("metadata", {}).get("tags", [])
    return [str(tag) for tag in tags] if isinstance(tags, list) else []


def classify_cells(nb: NotebookNode, path: str) -> list[Cell]:
    """Give every code cell of a notebook its role.

    Parameters
    ----------
    nb : NotebookNode
        The notebook.
    path : str
        The notebook's path, for error locations.

    Returns
    -------
    list of Cell
        One entry per code cell, in notebook order.

    Raises
    ------
    NotebookError
        When a cell has two roles that exclude each other (e.g. tagged both
        ``export`` and ``test``).
    """
    cells = []
    for index, raw in enumerate(nb.cells):
        if raw.cell_type != "code":
            continue
        source = raw.source if isinstance(raw.source, str) else "".join(raw.source)
        directives = parse_directives(source)
        written = {d.name for d in directives}
        # comment lines win over metadata, as in nbdev
        directives += tuple(
            d for d in metadata_directives(raw) if d.name not in written
        )
        tag_roles = {ROLE_TAGS[tag] for tag in cell_tags(raw) if tag in ROLE_TAGS}
        directive_role, module = _role_from_directives(directives)
        roles = set(tag_roles)
        if directive_role is not None and directive_role is not Role.NONE:
            roles.add(directive_role)
        if {Role.EXPORT, Role.EXPORT_INTERNAL} <= roles:
            roles.discard(Role.EXPORT)
        cell_id = raw.get("id")
        if len(roles) > 1:
            names = " and ".join(sorted(role.value for role in roles))
            raise NotebookError(
                f"the cell has two roles: {names}",
                Location(path, index, cell_id),
                "give each cell one role: split it into two cells",
            )
        role = roles.pop() if roles else Role.NONE
        cells.append(
            Cell(
                index,
                cell_id,
                role,
                module if role.exported else None,
                source,
                directives,
            )
        )
    return cells


def notebook_module(nb: NotebookNode, path: Path, cells: list[Cell]) -> str:
    """Return the module a notebook exports to, relative to the package.

    The ``#| default_exp`` directive wins, then ``metadata.nbprod.module``,
    then the notebook's file name made into an identifier
    (``01_Data-Prep.ipynb`` → ``data_prep``).

    Parameters
    ----------
    nb : NotebookNode
        The notebook.
    path : Path
        Its file.
    cells : list of Cell
        Its classified code cells.

    Returns
    -------
    str
        A dotted module name such as ``features`` or ``models.train``.
    """
    for cell in cells:
        for directive in cell.directives:
            if directive.name == "default_exp" and directive.argument:
                return _check_module(
                    directive.argument.split()[0],
                    cell.location(str(path), directive.line),
                )
    meta = nb.metadata.get("nbprod", {})
    if (
        isinstance(meta, dict)
        and isinstance(meta.get("module"), str)
        and meta["module"]
    ):
        return _check_module(meta["module"], Location(str(path)))
    return identifier(path.stem)


def _check_module(name: str, where: Location) -> str:
    if not all(part.isidentifier() for part in name.split(".")):
        raise NotebookError(
            f"{name!r} is not a valid module name",
            where,
            "use a dotted Python name such as `features` or `models.train`",
        )
    return name


#: the tag nbclient (and so papermill) skips a cell for
SKIP_EXECUTION = "skip-execution"


def skip_unevaluated(nb: NotebookNode) -> int:
    """Tag every ``#| eval: false`` code cell ``skip-execution``, in place.

    nbdev's ``eval: false`` means "never run this outside an editor" (a long
    download, a call to a service); nbclient skips cells with that tag, so
    runs and smoke runs leave them out as nbdev's test runner does.

    Parameters
    ----------
    nb : NotebookNode
        The notebook about to run (a copy; the user's file is not changed).

    Returns
    -------
    int
        How many cells were tagged.
    """
    count = 0
    for raw in nb.cells:
        if raw.cell_type != "code":
            continue
        source = raw.source if isinstance(raw.source, str) else "".join(raw.source)
        directives = parse_directives(source) + metadata_directives(raw)
        if directives_evaluate(directives):
            continue
        tags = raw.setdefault("metadata", {}).setdefault("tags", [])
        if SKIP_EXECUTION not in tags:
            tags.append(SKIP_EXECUTION)
            count += 1
    return count
