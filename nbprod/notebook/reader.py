"""Reading notebooks, turning every way a file can be unusable into one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from nbprod.errors import Location, NotebookError

if TYPE_CHECKING:
    from nbformat import NotebookNode


def read_notebook(
    path: Path | str, require_code: bool = True, *, for_reading: bool = False
) -> NotebookNode:
    """Read and validate a notebook in nbformat 4.

    Parameters
    ----------
    path : Path or str
        The ``.ipynb`` file.
    require_code : bool
        When True, a notebook without a single code cell is an error.
    for_reading : bool
        The caller only reads the cells (an export's plan): see
        :func:`parse_notebook`.

    Returns
    -------
    NotebookNode
        The notebook, as nbformat reads it (version 4).

    Raises
    ------
    NotebookError
        When the file is missing, is not JSON, is not a notebook, is in an old
        nbformat, fails validation, or has no code cells.
    """
    path = Path(path)
    where = Location(str(path))
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise NotebookError("no such notebook", where) from None
    except IsADirectoryError:
        raise NotebookError("is a folder, not a notebook", where) from None
    except UnicodeDecodeError:
        raise NotebookError(
            "is not a notebook: not UTF-8 text",
            where,
            "open it in JupyterLab and save it again",
        ) from None
    return parse_notebook(text, str(path), require_code, for_reading=for_reading)


class ReadOnlyNode(dict[str, Any]):
    """A notebook's JSON object with nbformat's attribute access (``cell.source``).

    What :func:`parse_notebook` gives a caller that only reads the cells:
    building it needs no nbformat, whose import (jsonschema's) is a fifth of
    a cached export. Not for writing back: nbformat's functions take
    :class:`nbformat.NotebookNode`.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


#: the keys nbformat 4's schema allows, per cell type (it allows no others)
_CELL_KEYS = {
    "code": frozenset(
        {"id", "cell_type", "metadata", "source", "outputs", "execution_count"}
    ),
    "markdown": frozenset({"id", "cell_type", "metadata", "source", "attachments"}),
    "raw": frozenset({"id", "cell_type", "metadata", "source", "attachments"}),
}
_REQUIRED = {
    "code": frozenset(
        {"cell_type", "metadata", "source", "outputs", "execution_count"}
    ),
    "markdown": frozenset({"cell_type", "metadata", "source"}),
    "raw": frozenset({"cell_type", "metadata", "source"}),
}
_NOTEBOOK_KEYS = frozenset({"cells", "metadata", "nbformat", "nbformat_minor"})


def _readable(data: dict[str, Any]) -> bool:
    """True when the notebook has the shape an export reads (the schema's keys and types).

    Outputs are not looked into: an export never reads them. Anything else
    goes to nbformat's validation, which says what is wrong.
    """
    cells = data.get("cells")
    if not (
        data.keys() <= _NOTEBOOK_KEYS
        and isinstance(cells, list)
        and isinstance(data.get("metadata"), dict)
        and isinstance(data.get("nbformat_minor"), int)
    ):
        return False
    minor = data["nbformat_minor"]
    for cell in cells:
        if not isinstance(cell, dict):
            return False
        kind = cell.get("cell_type")
        keys = cell.keys()
        if kind not in _CELL_KEYS or not (_REQUIRED[kind] <= keys <= _CELL_KEYS[kind]):
            return False
        source = cell["source"]
        if not (
            isinstance(source, str)
            or (isinstance(source, list) and all(isinstance(s, str) for s in source))
        ):
            return False
        if not isinstance(cell["metadata"], dict):
            return False
        if not _valid_id(cell["id"]) if "id" in cell else minor >= 5:
            # nbformat gives a 4.5 cell without an id one: the same path does
            return False
        if kind == "code" and not (
            isinstance(cell["outputs"], list)
            and (
                cell["execution_count"] is None
                or isinstance(cell["execution_count"], int)
            )
        ):
            return False
    return True


def _valid_id(value: object) -> bool:
    # the schema's pattern ^[a-zA-Z0-9-_]+$, 1 to 64 characters
    return (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    )


def _read_only(data: dict[str, Any]) -> NotebookNode:
    for cell in data["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])  # as nbformat's rejoin_lines
    return cast("NotebookNode", data)


def parse_notebook(
    text: str, path: str, require_code: bool = True, *, for_reading: bool = False
) -> NotebookNode:
    """Parse and validate a notebook's JSON text, as :func:`read_notebook` does.

    Parameters
    ----------
    text : str
        The notebook's JSON.
    path : str
        Its path, for error locations.
    require_code : bool
        When True, a notebook without a single code cell is an error.
    for_reading : bool
        The caller only reads the cells: a notebook with the schema's keys
        and types is given as :class:`ReadOnlyNode` objects, without
        nbformat (whose full validation still judges, and reports, any other).

    Returns
    -------
    NotebookNode
        The notebook (nbformat 4).

    Raises
    ------
    NotebookError
        When the text is not JSON, not a notebook, in an old nbformat, invalid,
        or without code cells.
    """
    where = Location(path)
    try:
        data = json.loads(text, object_hook=ReadOnlyNode if for_reading else None)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            where,
            "the file is damaged; restore it from git or a checkpoint",
        ) from None
    if not isinstance(data, dict) or ("cells" not in data and "worksheets" not in data):
        raise NotebookError(
            "is not a notebook: the JSON has no 'cells'", where, "pass a .ipynb file"
        )
    major = data.get("nbformat")
    if major != 4:
        raise NotebookError(
            f"is in nbformat {major}, nbprod reads nbformat 4",
            where,
            "convert it with `jupyter nbconvert --to notebook --inplace` or open and save it in JupyterLab",
        )
    nb = (
        _read_only(data) if for_reading and _readable(data) else _validated(data, where)
    )
    if require_code and not any(cell.cell_type == "code" for cell in nb.cells):
        raise NotebookError("has no code cells", where, "add code cells and tag them")
    return nb


def _validated(data: dict[str, Any], where: Location) -> NotebookNode:
    """What ``nbformat.reads()`` does, on the JSON already parsed.

    The notebook is validated once (``reads()`` would parse and validate once
    more), then sources stored as lists of lines are joined and transient
    fields dropped: both assume the fields and types a valid notebook has.
    """
    import nbformat  # here: the CLI, no-change and cached exports never import it
    from nbformat.v4.rwbase import rejoin_lines, strip_transient

    try:
        nb = nbformat.from_dict(data)
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        field = "/".join(str(part) for part in exc.absolute_path) or "notebook"
        message = str(exc.message).splitlines()[0]
        raise NotebookError(
            f"is not a valid notebook: {field}: {message}",
            where,
            "open it in JupyterLab and save it again",
        ) from None
    strip_transient(rejoin_lines(nb))
    return cast("NotebookNode", nb)
