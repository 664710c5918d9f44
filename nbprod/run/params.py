"""Run parameters: gathering them, checking them against the notebook, injecting them.

Everything here happens before any kernel starts, so a typo in a parameter
name costs nothing.
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from nbprod.errors import Location, ParameterError
from nbprod.notebook.parameters import (
    INJECTED_TAG,
    NotebookParameter,
    ParametersCell,
    find_parameters_cell,
)
from nbprod.values import UnsupportedValueError, injected_cell_source


class CommandLineText(str):
    """A value typed on the command line (``-p name value``), not yet typed.

    It becomes a string when the parameter's default is a string, a date when
    the default is a date, and otherwise is typed as papermill's ``-p`` does
    (``True``/``False``/``None``, int, float, else the text).
    """


def papermill_type(text: str) -> Any:
    """Type a command-line value the way ``papermill -p`` does."""
    if text == "True":
        return True
    if text == "False":
        return False
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return str(text)


def yaml_error(exc: yaml.YAMLError, what: str, where: str) -> ParameterError:
    """The error for text PyYAML cannot parse, at PyYAML's line and column.

    Parameters
    ----------
    exc : yaml.YAMLError
        What ``yaml.safe_load`` raised.
    what : str
        The subject of the message: ``"the grid is"``, ``"parameters are"``.
    where : str
        The file (or ``-y``) the text came from.
    """
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    location = Location(where)
    if mark is not None:
        # PyYAML counts from 0; editors and people from 1
        location = Location(where, line=mark.line + 1, column=mark.column + 1)
    detail = f"{problem} ({context})" if context else problem
    return ParameterError(
        f"{what} not valid YAML: {detail}",
        location,
        "fix the YAML at that line and column",
    )


def load_yaml_parameters(text: str, where: str) -> dict[str, Any]:
    """Parse a YAML mapping of parameters (``-y`` text or the content of a ``-f`` file).

    Raises
    ------
    ParameterError
        When the text is not YAML or not a mapping with string keys.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, "parameters are", where) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ParameterError(
            "parameters must be a YAML mapping of names to values",
            Location(where),
            "write one `name: value` per line",
        )
    return data


def gather_parameters(
    files: Sequence[Path | str] = (),
    yaml_texts: Sequence[str] = (),
    pairs: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Merge the parameter sources of the command line, later sources winning.

    The order is papermill's: files (``-f``), then YAML texts (``-y``), then
    ``-p`` pairs; within each, later ones win.

    Parameters
    ----------
    files : list of path
        YAML files of parameters.
    yaml_texts : list of str
        YAML mappings given inline.
    pairs : list of (str, str)
        ``-p`` name and value, kept as :class:`CommandLineText` to be typed
        against the notebook's defaults by :func:`check_parameters`.

    Returns
    -------
    dict
        The merged parameters.

    Raises
    ------
    ParameterError
        When a file is missing or a text is not a YAML mapping.
    """
    merged: dict[str, Any] = {}
    for file in files:
        path = Path(file)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ParameterError(
                f"cannot read the parameters file: {exc.strerror}", Location(str(path))
            ) from None
        merged.update(load_yaml_parameters(text, str(path)))
    for text in yaml_texts:
        merged.update(load_yaml_parameters(text, "-y"))
    for name, value in pairs:
        merged[name] = CommandLineText(value)
    return merged


def _type_text(value: Any, parameter: NotebookParameter) -> Any:
    default = parameter.default
    if isinstance(default, str) and parameter.literal:
        return str(value)
    if isinstance(default, _dt.date):
        return _parse_date(str(value), type(default))
    return papermill_type(str(value))


def _parse_date(text: str, kind: type) -> Any:
    try:
        if kind is _dt.datetime:
            return _dt.datetime.fromisoformat(text)
        return _dt.date.fromisoformat(text)
    except ValueError:
        return text  # reported as a type mismatch just after


def _fit(value: Any, parameter: NotebookParameter) -> tuple[bool, Any]:
    """Return whether ``value`` fits the parameter's default type, and the value to use."""
    if isinstance(value, CommandLineText):
        value = _type_text(value, parameter)
    default = parameter.default
    if not parameter.literal or default is None or value is None:
        # no usable default type to check against; None is always allowed,
        # as papermill notebooks use None for "not given"
        return True, value
    kind = type(default)
    if kind is bool:
        return type(value) is bool, value
    if kind is int:
        return type(value) is int, value
    if kind is float:
        return type(value) in (int, float), value
    if kind in (tuple, set, frozenset) and type(value) is list:
        # YAML has no tuples or sets: a list given for one becomes one
        try:
            return True, kind(value)
        except TypeError:
            return False, value
    if kind in (_dt.date, _dt.datetime) and isinstance(value, str):
        value = _parse_date(value, kind)
    if kind is _dt.date:
        return type(value) is _dt.date, value
    return isinstance(value, kind), value


def check_parameters(
    cell: ParametersCell | None,
    values: dict[str, Any],
    path: Path | str,
) -> dict[str, Any]:
    """Check parameters against a notebook's parameters cell and type them.

    Parameters
    ----------
    cell : ParametersCell or None
        The notebook's parameters cell.
    values : dict
        The given parameters (values may be :class:`CommandLineText`).
    path : Path or str
        The notebook, for error locations.

    Returns
    -------
    dict
        The parameters, typed (command-line text made int, float, date...).

    Raises
    ------
    ParameterError
        When the notebook has no parameters cell, a name is unknown, a value
        does not fit its default's type, or a value cannot be injected exactly.
    """
    if not values:
        return {}
    if cell is None:
        raise ParameterError(
            f"the notebook has no parameters cell, but parameters were given: "
            f"{', '.join(sorted(values))}",
            Location(str(path)),
            "tag the cell that holds the defaults with 'parameters'",
        )
    where = Location(str(path), cell.index, cell.cell_id)
    unknown = [name for name in values if cell.get(name) is None]
    if unknown:
        known = ", ".join(cell.names) or "(none)"
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)}; the notebook's parameters are: {known}",
            where,
            "check the spelling, or add the name to the parameters cell",
        )
    typed: dict[str, Any] = {}
    for name, value in values.items():
        parameter = cell.get(name)
        assert parameter is not None  # unknown names were rejected above
        ok, value = _fit(value, parameter)
        here = Location(str(path), cell.index, cell.cell_id, parameter.line)
        if not ok:
            raise ParameterError(
                f"parameter {name!r} expects {type(parameter.default).__name__} "
                f"(default {parameter.default_source}), got "
                f"{type(value).__name__} {value!r}",
                here,
                f"{name} takes {type(parameter.default).__name__} values, like its default",
            )
        try:
            injected_cell_source({name: value})
        except UnsupportedValueError as exc:
            raise ParameterError(
                f"parameter {name!r}: {exc}",
                here,
                "use numbers, strings, booleans, None, lists, tuples, sets, dicts or dates",
            ) from None
        typed[name] = value
    return typed


def inject_parameters(
    nb: NotebookNode, cell: ParametersCell | None, values: dict[str, Any]
) -> NotebookNode:
    """Return a copy of ``nb`` with an injected-parameters cell after the parameters cell.

    An injected cell left from an earlier run is replaced. With no values,
    the notebook is returned unchanged (copied).

    Parameters
    ----------
    nb : NotebookNode
        The notebook.
    cell : ParametersCell or None
        Its parameters cell (required when ``values`` is not empty).
    values : dict
        Checked parameters (see :func:`check_parameters`).

    Returns
    -------
    NotebookNode
        The notebook to execute.
    """
    nb = copy.deepcopy(nb)
    nb.cells = [
        c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])
    ]
    if not values:
        return nb
    assert cell is not None
    new = new_code_cell(injected_cell_source(values))
    new.metadata["tags"] = [INJECTED_TAG]
    # the index may have moved when an old injected cell was removed
    index = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and "parameters" in c.get("metadata", {}).get("tags", [])
    )
    nb.cells.insert(index + 1, new)
    return nb


def prepare_parameters(
    nb: NotebookNode, values: dict[str, Any], path: Path | str
) -> tuple[NotebookNode, dict[str, Any]]:
    """Check ``values`` against ``nb`` and return the notebook to run and the typed values.

    Raises
    ------
    ParameterError
        See :func:`check_parameters`.
    """
    cell = find_parameters_cell(nb, path)
    typed = check_parameters(cell, values, path)
    return inject_parameters(nb, cell, typed), typed
