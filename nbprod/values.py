"""Parameter values: Python source that round-trips them, and lossless JSON.

papermill writes parameters with its own translators, which quote tuples, sets,
dates and dicts with non-string keys as strings. nbprod writes the injected
cell itself from ``repr``-based source instead, and refuses any value it cannot
write back exactly, so a notebook never receives a silently changed value.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
from typing import Any

#: the key that marks a tagged value in the history's JSON
TYPE_KEY = "$type"

#: the alias under which the injected cell imports a module it needs; an alias
#: so that a notebook's own ``from datetime import datetime`` is not shadowed
_MODULE_ALIAS = {"datetime": "_nbprod_datetime", "decimal": "_nbprod_decimal"}


class UnsupportedValueError(TypeError):
    """A value that cannot be written as Python source that recreates it."""


def python_source(value: Any, modules: set[str] | None = None) -> str:
    """Return Python source that evaluates to an equal value of the same type.

    Parameters
    ----------
    value : Any
        None, bool, int, float, complex, str, bytes, list, tuple, set,
        frozenset, dict (any hashable keys of these types), date, datetime,
        time, timedelta or Decimal, nested freely.
    modules : set of str, optional
        Filled with the modules (``datetime``, ``decimal``) the source needs;
        they are referred to by the aliases in the injected cell.

    Returns
    -------
    str
        The source, e.g. ``(1, 2)`` or ``_nbprod_datetime.date(2024, 1, 31)``.

    Raises
    ------
    UnsupportedValueError
        For any other type (a path, an array, an object...).
    """
    if modules is None:
        modules = set()
    if value is None or isinstance(value, (bool, int, str, bytes)):
        if type(value) not in (type(None), bool, int, str, bytes):
            raise UnsupportedValueError(
                f"{type(value).__name__} values are not supported"
            )
        return repr(value)
    if isinstance(value, float) and type(value) is float:
        if math.isnan(value) or math.isinf(value):
            return f"float({str(value)!r})"
        return repr(value)
    if type(value) is complex:
        return repr(value)
    if type(value) is list:
        return "[" + ", ".join(python_source(v, modules) for v in value) + "]"
    if type(value) is tuple:
        items = [python_source(v, modules) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if type(value) in (set, frozenset):
        # sorted by source so the injected cell is the same from run to run
        items = sorted(python_source(v, modules) for v in value)
        if type(value) is frozenset:
            return "frozenset({" + ", ".join(items) + "})" if items else "frozenset()"
        return "{" + ", ".join(items) + "}" if items else "set()"
    if type(value) is dict:
        pairs = (
            f"{python_source(k, modules)}: {python_source(v, modules)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    if type(value) in (_dt.date, _dt.datetime, _dt.time, _dt.timedelta):
        tzinfo = getattr(value, "tzinfo", None)
        if tzinfo is not None and tzinfo is not _dt.timezone.utc:
            raise UnsupportedValueError(
                "dates with a time zone other than UTC are not supported"
            )
        modules.add("datetime")
        return repr(value).replace("datetime.", _MODULE_ALIAS["datetime"] + ".")
    if type(value) is decimal.Decimal:
        modules.add("decimal")
        return f"{_MODULE_ALIAS['decimal']}.Decimal({str(value)!r})"
    raise UnsupportedValueError(f"{type(value).__name__} values are not supported")


def injected_cell_source(parameters: dict[str, Any]) -> str:
    """Return the source of the injected-parameters cell for ``parameters``.

    Parameters
    ----------
    parameters : dict
        Parameter names (identifiers) to values supported by :func:`python_source`.

    Returns
    -------
    str
        ``# Parameters`` followed by one assignment per parameter, with the
        imports it needs under private aliases, removed again at the end.
    """
    modules: set[str] = set()
    lines = [
        f"{name} = {python_source(value, modules)}"
        for name, value in parameters.items()
    ]
    head = ["# Parameters"]
    head += [f"import {m} as {_MODULE_ALIAS[m]}" for m in sorted(modules)]
    tail = [f"del {_MODULE_ALIAS[m]}" for m in sorted(modules)]
    return "\n".join(head + lines + tail) + "\n"


def encode_value(value: Any) -> Any:
    """Encode a parameter value as JSON data that :func:`decode_value` restores exactly.

    Plain JSON values stay as they are; tuples, sets, dicts with keys that are
    not strings, dates and decimals become ``{"$type": ..., ...}`` objects.
    """
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        if math.isnan(value) or math.isinf(value):
            return {TYPE_KEY: "float", "value": str(value)}
        return value
    if type(value) is list:
        return [encode_value(v) for v in value]
    if type(value) is dict:
        if all(type(k) is str for k in value) and TYPE_KEY not in value:
            return {k: encode_value(v) for k, v in value.items()}
        return {
            TYPE_KEY: "dict",
            "items": [[encode_value(k), encode_value(v)] for k, v in value.items()],
        }
    if type(value) in (tuple, set, frozenset):
        items = [encode_value(v) for v in value]
        if type(value) is not tuple:
            items.sort(key=repr)
        return {TYPE_KEY: type(value).__name__, "items": items}
    if type(value) in (_dt.date, _dt.datetime, _dt.time):
        return {TYPE_KEY: type(value).__name__, "value": value.isoformat()}
    if type(value) is _dt.timedelta:
        return {TYPE_KEY: "timedelta", "seconds": value.total_seconds()}
    if type(value) is decimal.Decimal:
        return {TYPE_KEY: "decimal", "value": str(value)}
    if type(value) is complex:
        return {TYPE_KEY: "complex", "value": [value.real, value.imag]}
    if type(value) is bytes:
        return {TYPE_KEY: "bytes", "value": value.hex()}
    raise UnsupportedValueError(f"{type(value).__name__} values are not supported")


def decode_value(data: Any) -> Any:
    """Restore a value encoded by :func:`encode_value`."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(TYPE_KEY)
    if kind is None:
        return {k: decode_value(v) for k, v in data.items()}
    if kind == "dict":
        return {_hashable(decode_value(k)): decode_value(v) for k, v in data["items"]}
    if kind in ("tuple", "set", "frozenset"):
        items = [_hashable(decode_value(v)) for v in data["items"]]
        return {"tuple": tuple, "set": set, "frozenset": frozenset}[kind](items)
    if kind == "date":
        return _dt.date.fromisoformat(data["value"])
    if kind == "datetime":
        return _dt.datetime.fromisoformat(data["value"])
    if kind == "time":
        return _dt.time.fromisoformat(data["value"])
    if kind == "timedelta":
        return _dt.timedelta(seconds=data["seconds"])
    if kind == "decimal":
        return decimal.Decimal(data["value"])
    if kind == "float":
        return float(data["value"])
    if kind == "complex":
        return complex(*data["value"])
    if kind == "bytes":
        return bytes.fromhex(data["value"])
    raise ValueError(f"unknown encoded type {kind!r}")


def _hashable(value: Any) -> Any:
    # JSON has no tuples: a list that was a dict key or set member must have
    # been a tuple, since lists are not hashable
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def to_display(value: Any) -> Any:
    """Return a readable JSON-ready form of a value (tuples as lists, dates as text)."""
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else repr(k)): to_display(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [to_display(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_display(v) for v in value), key=repr)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def short_text(value: Any, digits: int = 4) -> str:
    """A value as short text for a table: what the CLI, the widgets and JupyterLab show.

    Floats to ``digits`` significant digits, still looking like floats
    (``1.0``, not ``1``); strings as they are; anything else as its display JSON.
    """
    if isinstance(value, float):
        text = f"{value:.{digits}g}"
        return text if any(c in text for c in ".enai") else text + ".0"
    if isinstance(value, str):
        return value
    return json.dumps(to_display(value), ensure_ascii=False)


def pairs_text(mapping: dict[str, Any]) -> str:
    """``name=value`` pairs of parameters or metrics in one line, each :func:`short_text`."""
    return " ".join(f"{k}={short_text(v)}" for k, v in mapping.items())
