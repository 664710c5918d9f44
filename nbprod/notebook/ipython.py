"""Finding IPython syntax (magics, shell escapes, help) in cells that must be plain Python."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache

#: line magics that only set up the interactive session: dropped from exports with a note
ALLOWED_MAGICS = frozenset({"matplotlib", "load_ext", "autoreload", "config"})


@dataclass
class PlainCode:
    """A cell's code made plain Python.

    Attributes
    ----------
    code : str
        The code with allowed magics blanked out (line numbers are kept).
    dropped : list of tuple
        ``(line, text)`` of each allowed magic that was removed.
    ipython : list of tuple
        ``(line, text)`` of each piece of IPython syntax that is not allowed.
    syntax_error : tuple or None
        ``(line, message)`` when the code is not valid Python otherwise.
    """

    code: str
    dropped: list[tuple[int, str]] = field(default_factory=list)
    ipython: list[tuple[int, str]] = field(default_factory=list)
    syntax_error: tuple[int, str] | None = None


@lru_cache(maxsize=256)
def parse_python(code: str) -> ast.Module:
    """``ast.parse(code)``, once for all the readers of a cell's code.

    Planning a notebook reads each cell's tree several times (IPython syntax,
    names, imports, ``__all__``, top-level awaits); the few hundred most
    recent trees are kept, enough for a notebook's cells. The tree is shared:
    callers read it and never change it.

    Raises
    ------
    SyntaxError
        When ``code`` is not valid Python (not kept: the next call raises again).
    """
    return ast.parse(code)


def _parses(code: str) -> tuple[int, str] | None:
    try:
        parse_python(code)
    except SyntaxError as exc:
        return (exc.lineno or 1, exc.msg)
    return None


def make_plain(source: str) -> PlainCode:
    """Separate a cell's Python from its IPython syntax.

    Plain Python is returned unchanged without importing IPython. Otherwise
    IPython's own input transformer tells which lines are IPython syntax, so
    strings and comments that merely contain ``%`` or ``!`` are not mistaken
    for magics.

    Parameters
    ----------
    source : str
        The cell's source.

    Returns
    -------
    PlainCode
        The plain code with what was dropped or refused, line by line.
    """
    error = _parses(source)
    if error is None:
        return PlainCode(source)
    # Imported only here: IPython is slow to import and most cells never need it.
    from IPython.core.inputtransformer2 import TransformerManager

    lines = source.splitlines()
    stripped = [line.strip() for line in lines]
    first = next((i for i, line in enumerate(stripped) if line), 0)
    if stripped and stripped[first].startswith("%%"):
        return PlainCode(source, ipython=[(first + 1, stripped[first])])
    transformed = TransformerManager().transform_cell(source).splitlines()
    if len(transformed) != len(lines):
        # A transform that changes the line count: report where parsing failed.
        return PlainCode(source, ipython=[(error[0], stripped[error[0] - 1])])
    result = PlainCode(source)
    kept = list(lines)
    for number, (before, after) in enumerate(
        zip(lines, transformed, strict=True), start=1
    ):
        if before == after:
            continue
        text = before.strip()
        name = (
            text[1:].split(maxsplit=1)[0]
            if text.startswith("%") and len(text) > 1
            else ""
        )
        if name in ALLOWED_MAGICS:
            result.dropped.append((number, text))
            kept[number - 1] = ""
        else:
            result.ipython.append((number, text))
    result.code = "\n".join(kept) + ("\n" if source.endswith("\n") else "")
    if not result.ipython:
        result.syntax_error = _parses(result.code)
    return result
