"""Profiles: ``nbprod.profile(name, data)`` inside a notebook, and reading them back.

A profile summarises a table column by column: its kind, row and null counts,
for numbers min/max/mean/std and quantiles, for categories the value
frequencies (top 100 plus "other"), and what the drift tests need.

Sketch choice: a **uniform random sample without replacement** (a reservoir
sample, drawn in one pass with a fixed seed so a profile is reproducible) of
at most 1000 non-null values per numeric or datetime column. Every drift test
nbprod runs (Kolmogorov-Smirnov, Wasserstein, PSI) works on two samples
directly, and a column with at most 1000 values keeps all of them, so the
Kolmogorov-Smirnov test that Evidently's rules pick for such columns is exact.
A mergeable quantile sketch would be smaller for huge tables but would make
KS approximate exactly where it is used. Samples are stored as base64
float32 (float64 for datetimes), 5.3 bytes a value in JSON.

The whole profile is at most :data:`MAX_PROFILE_BYTES` of JSON: when a wide
table would exceed it, the per-column sample and the number of kept categories
shrink until it fits (``sample_cap`` and ``top`` in the profile say what was
kept), so a 200 000-row input leaves the output notebook small.

Like ``nbprod.record`` the profile travels in the executed notebook as a
custom MIME output, so it works the same under papermill, on Dask workers and
interactively, where it shows a compact summary table. This module imports
numpy only when a profile is made: it is imported in every kernel.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nbformat and numpy are imported only where needed
    import numpy as np
    from nbformat import NotebookNode

#: MIME type of a recorded profile in a notebook's outputs
PROFILE_MIME = "application/vnd.nbprod.profile+json"
#: the largest JSON text a profile may have, whatever the size of the table
MAX_PROFILE_BYTES = 256 * 1024
#: profile format version (in every profile)
PROFILE_VERSION = 1
#: at most this many sampled values per numeric column
SAMPLE_SIZE = 1000
#: at most this many sampled values in one profile (all columns together)
TOTAL_SAMPLES = 40_000
#: categories kept per column (the rest are counted as "other")
TOP_VALUES = 100
#: a numeric column with at most this many distinct values also keeps its frequencies
FREQUENCY_LIMIT = 100
#: longest category label kept
LABEL_CHARS = 100
#: quantiles kept for numeric columns
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

NUMERIC, CATEGORICAL, DATETIME, BOOL = "numeric", "categorical", "datetime", "bool"
KINDS = (NUMERIC, CATEGORICAL, DATETIME, BOOL)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _columns(data: Any) -> dict[str, Any]:
    """Split the supported inputs into named 1-D columns (numpy arrays or pandas Series)."""
    import numpy as np

    module = type(data).__module__
    if module.startswith("pandas"):
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return {str(name): data[name] for name in data.columns}
        if isinstance(data, pd.Series):
            return {str(data.name) if data.name is not None else "value": data}
    if isinstance(data, dict):
        if not all(isinstance(k, str) for k in data):
            raise TypeError("a dict to profile must have string keys (column names)")
        columns = {}
        for name, values in data.items():
            if type(values).__module__.startswith("pandas"):
                columns[name] = values
                continue
            array = np.asarray(values)
            if array.ndim != 1:
                raise ValueError(f"column {name!r} is not one-dimensional")
            columns[name] = array
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError("the columns of a dict to profile differ in length")
        return columns
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            return {"value": data}
        if data.ndim == 2:
            return {str(i): data[:, i] for i in range(data.shape[1])}
        raise ValueError(f"cannot profile a {data.ndim}-D array (1-D or 2-D only)")
    raise TypeError(
        "nbprod.profile takes a pandas DataFrame or Series, a 1-D/2-D numpy array "
        f"or a dict of columns, not {type(data).__name__}"
    )


def _classify(values: Any) -> tuple[str, Any, int]:
    """Return (kind, non-null values as a numpy array, null count) of one column."""
    import numpy as np

    if type(values).__module__.startswith("pandas"):
        import pandas as pd

        series = values
        nulls = int(series.isna().sum())
        present = series.dropna()
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return BOOL, present.to_numpy(dtype=bool), nulls
        if pd.api.types.is_datetime64_any_dtype(dtype):
            stamps = pd.to_datetime(present, utc=True)
            epoch = pd.Timestamp(0, tz="UTC")
            seconds = ((stamps - epoch) / pd.Timedelta(seconds=1)).to_numpy(np.float64)
            return DATETIME, seconds, nulls
        if pd.api.types.is_timedelta64_dtype(dtype):
            return NUMERIC, present.dt.total_seconds().to_numpy(np.float64), nulls
        if pd.api.types.is_numeric_dtype(dtype) and not isinstance(
            dtype, pd.CategoricalDtype
        ):
            array = present.to_numpy(dtype=np.float64)
            finite = np.isfinite(array)
            if not finite.all():  # +-inf counts as missing: no statistic survives it
                nulls += int((~finite).sum())
                array = array[finite]
            return NUMERIC, array, nulls
        return CATEGORICAL, present.astype(str).to_numpy(dtype=object), nulls
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind == "b":
        return BOOL, array, 0
    if kind in "iuf":
        array = array.astype(np.float64, copy=False)
        finite = np.isfinite(array)
        return NUMERIC, array[finite], int((~finite).sum())
    if kind == "M":
        present = array[~np.isnat(array)]
        seconds = present.astype("datetime64[ns]").astype(np.int64) / 1e9
        return DATETIME, seconds.astype(np.float64), len(array) - len(present)
    if kind == "m":
        present = array[~np.isnat(array)]
        seconds = present.astype("timedelta64[ns]").astype(np.int64) / 1e9
        return NUMERIC, seconds.astype(np.float64), len(array) - len(present)
    # object or text: None and NaN are missing, everything else a category
    items = [
        v
        for v in array.tolist()
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    if items and all(isinstance(v, bool) for v in items):
        return BOOL, np.asarray(items, dtype=bool), len(array) - len(items)
    if items and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in items
    ):
        numbers = np.asarray(items, dtype=np.float64)
        finite = np.isfinite(numbers)
        return NUMERIC, numbers[finite], len(array) - int(finite.sum())
    return (
        CATEGORICAL,
        np.asarray([str(v) for v in items], dtype=object),
        (len(array) - len(items)),
    )


def _encode_sample(values: np.ndarray, dtype: str) -> dict[str, Any]:
    data = values.astype(dtype).tobytes()
    return {
        "n": len(values),
        "dtype": dtype,
        "data": base64.b64encode(data).decode(),
    }


def decode_sample(sample: dict[str, Any] | None) -> np.ndarray:
    """Return a profile column's sample as a float64 numpy array (empty without one)."""
    import numpy as np

    if not sample or not sample.get("data"):
        return np.empty(0, dtype=np.float64)
    raw = base64.b64decode(sample["data"])
    return np.frombuffer(raw, dtype=sample.get("dtype", "float32")).astype(np.float64)


def _frequencies(labels: Any, counts: Any, top: int) -> tuple[list[list[Any]], int]:
    """The ``top`` most frequent (label, count) pairs, most frequent first, and the rest's count."""
    pairs = sorted(zip(labels, counts, strict=True), key=lambda p: (-p[1], str(p[0])))
    kept = [[label, int(count)] for label, count in pairs[:top]]
    return kept, int(sum(int(c) for _, c in pairs[top:]))


def _numeric_stats(values: np.ndarray, kind: str) -> dict[str, Any]:
    """The statistics of a numeric column that do not depend on the size bound."""
    import numpy as np

    n = len(values)
    if n == 0:
        return {}
    # one sort gives min, max, the quantiles (linear interpolation, numpy's
    # default method) and the distinct values: ~3x faster than np.quantile's
    # partition with many kth indices on a million rows
    ordered = np.sort(values)
    positions = np.asarray(QUANTILES) * (n - 1)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    quantiles = ordered[low] + (positions - low) * (ordered[high] - ordered[low])
    stats: dict[str, Any] = {
        "min": _finite(ordered[0]),
        "max": _finite(ordered[-1]),
        "mean": _finite(values.mean()),
        "std": _finite(values.std(ddof=1)) if n > 1 else 0.0,
        "quantiles": {
            str(q): _finite(v) for q, v in zip(QUANTILES, quantiles, strict=True)
        },
    }
    # Low-cardinality numbers (codes, counts, ratings) are tested like categories
    # (Evidently's rule: at most 5 distinct values), so they keep frequencies.
    changes = np.flatnonzero(ordered[1:] != ordered[:-1])
    if len(changes) < FREQUENCY_LIMIT:
        starts = np.concatenate(([0], changes + 1))
        counts = np.diff(np.concatenate((starts, [n])))
        stats["unique"] = len(starts)
        stats["_frequencies"] = ([_number_label(v) for v in ordered[starts]], counts)
    return stats


def _numeric_column(
    values: np.ndarray, stats: dict[str, Any], kind: str, sample_cap: int, top: int
) -> dict[str, Any]:
    import numpy as np

    column = {k: v for k, v in stats.items() if not k.startswith("_")}
    if "_frequencies" in stats:
        labels, counts = stats["_frequencies"]
        column["values"], column["other"] = _frequencies(labels, counts, top)
    n = len(values)
    if n and sample_cap:
        if n > sample_cap:
            # seeded by nothing random: the same data gives the same profile
            rng = np.random.default_rng(0)
            values = values[rng.choice(n, size=sample_cap, replace=False)]
        dtype = "float64" if kind == DATETIME else "float32"
        column["sample"] = _encode_sample(values, dtype)
    return column


def _number_label(value: float) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _categorical_column(
    values: np.ndarray, kind: str, top: int, label_chars: int
) -> dict[str, Any]:
    counts: Counter[Any] = (
        Counter(bool(v) for v in values.tolist())
        if kind == BOOL
        else Counter(str(v)[:label_chars] for v in values.tolist())
    )
    column: dict[str, Any] = {"unique": len(counts)}
    column["values"], column["other"] = _frequencies(
        list(counts), list(counts.values()), top
    )
    return column


def _build(
    columns: dict[str, tuple[str, Any, int]],
    stats: dict[str, dict[str, Any]],
    rows: int,
    name: str,
    sample_cap: int,
    top: int,
    label_chars: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column_name, (kind, values, nulls) in columns.items():
        column: dict[str, Any] = {"kind": kind, "count": int(rows), "nulls": int(nulls)}
        if kind in (NUMERIC, DATETIME):
            column.update(
                _numeric_column(values, stats[column_name], kind, sample_cap, top)
            )
        else:
            column.update(_categorical_column(values, kind, top, label_chars))
        out[column_name] = column
    return {
        "version": PROFILE_VERSION,
        "name": name,
        "rows": int(rows),
        "sample_cap": sample_cap,
        "top": top,
        "columns": out,
    }


def build_profile(name: str, data: Any) -> dict[str, Any]:
    """Return the profile of a table as JSON data, at most :data:`MAX_PROFILE_BYTES`.

    Parameters
    ----------
    name : str
        The profile's name, e.g. ``"input"``.
    data : DataFrame, Series, numpy array or dict of columns
        The table. A 1-D array is one column ``value``; a 2-D array's columns
        are named ``0``, ``1``, ...

    Returns
    -------
    dict
        The profile (see the module docstring).

    Raises
    ------
    TypeError, ValueError
        For data that is not a table, or too many columns to fit the bound.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("the profile name must be a non-empty string")
    raw = _columns(data)
    rows = len(next(iter(raw.values()))) if raw else 0
    columns = {column: _classify(values) for column, values in raw.items()}
    stats = {
        column: _numeric_stats(values, kind)
        for column, (kind, values, _) in columns.items()
        if kind in (NUMERIC, DATETIME)
    }
    numeric = len(stats)
    sample_cap = min(SAMPLE_SIZE, TOTAL_SAMPLES // max(1, numeric))
    top, label_chars = TOP_VALUES, LABEL_CHARS
    while True:
        profile = _build(columns, stats, rows, name, sample_cap, top, label_chars)
        size = len(json.dumps(profile, separators=(",", ":")).encode())
        if size <= MAX_PROFILE_BYTES:
            return profile
        if sample_cap == 0 and top == 0:
            raise ValueError(
                f"profile {name!r}: {len(columns)} columns do not fit in "
                f"{MAX_PROFILE_BYTES // 1024} KiB; profile fewer columns at a time"
            )
        # shrink in proportion to the excess, then halve, so few rounds are needed
        factor = min(0.5, MAX_PROFILE_BYTES / size * 0.9)
        sample_cap = int(sample_cap * factor)
        top = int(top * factor)
        label_chars = max(16, int(label_chars * factor))


def _summary_value(column: dict[str, Any]) -> str:
    if column.get("mean") is not None:
        return f"mean {column['mean']:.4g}"
    values = column.get("values") or []
    return ", ".join(f"{label} ({count})" for label, count in values[:3])


def summary_rows(profile: dict[str, Any]) -> list[tuple[str, str, int, int, str]]:
    """Rows of a profile's compact summary: column, kind, count, nulls, mean or top values."""
    return [
        (name, c["kind"], c["count"], c["nulls"], _summary_value(c))
        for name, c in profile["columns"].items()
    ]


def _summary_text(profile: dict[str, Any]) -> str:
    header = ("column", "kind", "count", "nulls", "mean / top values")
    rows = [
        header,
        *((r[0], r[1], str(r[2]), str(r[3]), r[4]) for r in summary_rows(profile)),
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = [f"profile {profile['name']!r}: {profile['rows']} rows"]
    for row in rows:
        cells = [str(row[i]).ljust(widths[i]) for i in range(4)]
        lines.append("  ".join([*cells, str(row[4])]))
    return "\n".join(lines)


def _summary_html(profile: dict[str, Any]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("column", "kind", "count", "nulls", "mean / top values")
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in summary_rows(profile)
    )
    title = html.escape(f"profile {profile['name']!r}: {profile['rows']} rows")
    return f"<div><b>{title}</b><table><tr>{head}</tr>{body}</table></div>"


def profile(name: str, data: Any) -> Any:
    """Record a profile of this run's data (inputs, predictions) under a name.

    Interactively a compact summary table is shown (column, kind, count,
    nulls, mean or top values). Under ``nbprod run``/``nbprod batch`` the
    profile is stored with the run and checked for drift against the
    baseline run's profile of the same name.

    Parameters
    ----------
    name : str
        The profile's name, e.g. ``"input"`` or ``"predictions"``.
    data : DataFrame, Series, numpy array or dict of columns
        The data to profile.

    Returns
    -------
    Any
        ``data`` itself, so ``df = nbprod.profile("input", load())`` works.

    Raises
    ------
    TypeError, ValueError
        For data that is not a table.
    """
    summary = build_profile(name, data)
    from IPython.display import display  # only where a profile is recorded

    display(
        {
            PROFILE_MIME: summary,
            "text/plain": _summary_text(summary),
            "text/html": _summary_html(summary),
        },
        raw=True,
    )
    return data


def read_profiles(nb: NotebookNode) -> dict[str, dict[str, Any]]:
    """Return the profiles recorded in an executed notebook (the last of each name)."""
    from nbprod.notebook.outputs import recorded_payloads

    return {
        data["name"]: data
        for data in recorded_payloads(nb, PROFILE_MIME)
        if isinstance(data.get("columns"), dict)
    }
