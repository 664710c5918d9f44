"""The ``parameters`` cell of a notebook: names, defaults, types and comments.

papermill's convention: the code cell tagged ``parameters`` holds the defaults
as plain assignments. The run layer validates values against them, the server
and the UI show them as a form; all of them read them through this module.
"""

from __future__ import annotations

import ast
import datetime as _dt
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.errors import Location, NotebookError

if TYPE_CHECKING:
    from nbformat import NotebookNode

PARAMETERS_TAG = "parameters"
#: papermill's tag of the cell it inserts with the given values
INJECTED_TAG = "injected-parameters"

_NO_DEFAULT = object()


@dataclass(frozen=True)
class NotebookParameter:
    """One assignment of a parameters cell.

    Attributes
    ----------
    name : str
        The variable name.
    default : Any
        The default as a Python value, when the right-hand side is a literal
        (or a ``date``/``datetime`` call with literal arguments); None otherwise.
    default_source : str
        The right-hand side as written.
    literal : bool
        True when ``default`` holds the evaluated right-hand side.
    type : str or None
        The annotation when there is one, else the type name of a literal
        default (``int``, ``str``, ``tuple``, ``date``...); None when unknown
        or when the default is None.
    comment : str or None
        The trailing comment of the assignment, without the ``#``.
    line : int
        One-based line of the assignment in the cell.
    """

    name: str
    default: Any
    default_source: str
    literal: bool
    type: str | None
    comment: str | None
    line: int

    def to_dict(self) -> dict[str, Any]:
        """Return the parameter as a JSON-ready mapping (default in display form)."""
        from nbprod.values import to_display

        return {
            "name": self.name,
            "default": to_display(self.default) if self.literal else None,
            "default_source": self.default_source,
            "literal": self.literal,
            "type": self.type,
            "comment": self.comment,
            "line": self.line,
        }


@dataclass(frozen=True)
class ParametersCell:
    """The parameters cell of a notebook and what it declares.

    Attributes
    ----------
    index : int
        Zero-based index of the cell in the notebook.
    cell_id : str or None
        The cell's nbformat id.
    parameters : list of NotebookParameter
        The assignments, in order (a name assigned twice keeps its last one).
    """

    index: int
    cell_id: str | None
    parameters: list[NotebookParameter] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The parameter names, in order."""
        return [p.name for p in self.parameters]

    def get(self, name: str) -> NotebookParameter | None:
        """Return the parameter called ``name``, or None."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return the cell as a JSON-ready mapping."""
        return {
            "index": self.index,
            "cell_id": self.cell_id,
            "parameters": [p.to_dict() for p in self.parameters],
        }


def _date_call(node: ast.expr) -> Any:
    # `date(2024, 1, 31)` / `datetime.date(...)` / `datetime.datetime(...)` with
    # literal arguments: common for report dates, and not an ast literal
    if not isinstance(node, ast.Call) or node.keywords:
        return _NO_DEFAULT
    func = ast.unparse(node.func)
    kinds = {
        "date": _dt.date,
        "datetime.date": _dt.date,
        "datetime": _dt.datetime,
        "datetime.datetime": _dt.datetime,
        "dt.date": _dt.date,
        "dt.datetime": _dt.datetime,
    }
    kind = kinds.get(func)
    if kind is None:
        return _NO_DEFAULT
    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        return kind(*args)
    except (ValueError, TypeError, SyntaxError):
        return _NO_DEFAULT


def _evaluate(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _date_call(node)


def _comments(source: str) -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = token.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def _plain_python(source: str) -> str:
    # Blank out magics and shell escapes (line numbers kept): a parameters cell
    # sometimes starts with `%matplotlib inline`.
    lines = source.split("\n")
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in lines
    )


def parse_parameters(
    source: str, where: Location | None = None
) -> list[NotebookParameter]:
    """Parse the assignments of a parameters cell.

    Parameters
    ----------
    source : str
        The cell's code.
    where : Location, optional
        The cell, for error messages.

    Returns
    -------
    list of NotebookParameter
        One per assigned name, in order of first assignment; other statements
        (imports, expressions) are ignored.

    Raises
    ------
    NotebookError
        When the cell is not valid Python.
    """
    code = _plain_python(source)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        location = where or Location("<parameters cell>")
        location = Location(location.path, location.cell, location.cell_id, exc.lineno)
        raise NotebookError(
            f"the parameters cell is not valid Python: {exc.msg}",
            location,
            "fix the syntax of the cell tagged 'parameters'",
        ) from None
    comments = _comments(code)
    found: dict[str, NotebookParameter] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value, annotation = statement.targets[0], statement.value, None
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
            annotation = ast.unparse(statement.annotation)
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        default = _evaluate(value)
        literal = default is not _NO_DEFAULT
        if annotation is not None:
            kind: str | None = annotation
        elif literal and default is not None:
            kind = type(default).__name__
        else:
            kind = None
        end = statement.end_lineno or statement.lineno
        comment = comments.get(end, comments.get(statement.lineno))
        found.pop(target.id, None)  # a reassignment moves the name to its last place
        found[target.id] = NotebookParameter(
            name=target.id,
            default=default if literal else None,
            default_source=ast.get_source_segment(code, value) or ast.unparse(value),
            literal=literal,
            type=kind,
            comment=comment,
            line=statement.lineno,
        )
    return list(found.values())


def find_parameters_cell(
    nb: NotebookNode, path: Path | str = "<notebook>"
) -> ParametersCell | None:
    """Return the notebook's parameters cell, parsed, or None when it has none.

    Parameters
    ----------
    nb : NotebookNode
        The notebook.
    path : Path or str
        The notebook's path, for error locations.

    Returns
    -------
    ParametersCell or None
        The first code cell tagged ``parameters``.

    Raises
    ------
    NotebookError
        When the parameters cell is not valid Python.
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            cell_id = cell.get("id")
            where = Location(str(path), index, cell_id)
            return ParametersCell(index, cell_id, parse_parameters(cell.source, where))
    return None
