"""Reading notebooks, turning every way a file can be unusable into one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from nbprod.errors import Location, NotebookError

if TYPE_CHECKING:
    from nbformat import NotebookNode


def read_notebook(path: Path | str, require_code: bool = True) -> NotebookNode:
    """Read and validate a notebook in nbformat 4.

    Parameters
    ----------
    path : Path or str
        The ``.ipynb`` file.
    require_code : bool
        When True, a notebook without a single code cell is an error.

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
    return parse_notebook(text, str(path), require_code)


def parse_notebook(text: str, path: str, require_code: bool = True) -> NotebookNode:
    """Parse and validate a notebook's JSON text, as :func:`read_notebook` does.

    Parameters
    ----------
    text : str
        The notebook's JSON.
    path : str
        Its path, for error locations.
    require_code : bool
        When True, a notebook without a single code cell is an error.

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
    import nbformat  # here: the CLI and no-change exports never read a notebook

    where = Location(path)
    try:
        data = json.loads(text)
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
    try:
        # what nbformat.reads() does, on the JSON parsed above: sources stored
        # as lists of lines joined, one validation (reads() would parse and
        # validate once more), transient fields dropped; validation comes
        # first, as stripping assumes the fields a valid notebook has
        from nbformat.v4.rwbase import rejoin_lines, strip_transient

        nb = rejoin_lines(nbformat.from_dict(data))
        nbformat.validate(nb)
        strip_transient(nb)
    except nbformat.ValidationError as exc:
        field = "/".join(str(part) for part in exc.absolute_path) or "notebook"
        message = str(exc.message).splitlines()[0]
        raise NotebookError(
            f"is not a valid notebook: {field}: {message}",
            where,
            "open it in JupyterLab and save it again",
        ) from None
    if require_code and not any(cell.cell_type == "code" for cell in nb.cells):
        raise NotebookError("has no code cells", where, "add code cells and tag them")
    return nb
