"""Metrics: ``nbprod.record`` inside a notebook, and reading them back from its output.

``record`` displays the value with a custom MIME type next to plain text.
JupyterLab shows the text; nbprod finds the custom output in the executed
notebook. Nothing travels outside the notebook, so it works the same on a Dask
worker, in papermill, or interactively.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nbformat is slow to import, and record() runs in every kernel
    from nbformat import NotebookNode

#: MIME type of a recorded metric in a notebook's outputs
METRIC_MIME = "application/vnd.nbprod.metric+json"
#: largest JSON text a metric may have: metrics are numbers and small summaries
MAX_METRIC_BYTES = 64 * 1024


def _plain(value: Any) -> Any:
    # numpy and pandas scalars have .item(); turn them into Python numbers
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (list, dict, str, bytes)):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def record(name: str, value: Any) -> Any:
    """Record a metric of this run (a number, a string, or small JSON data).

    Interactively, the value is displayed as ``name: value``. Under
    ``nbprod run``/``nbprod batch`` it is stored with the run in the history.

    Parameters
    ----------
    name : str
        The metric's name, e.g. ``"auc"``.
    value : Any
        A number, string, bool, None, or a list/dict of those that is JSON
        serialisable (numpy scalars are converted) and under 64 KiB.

    Returns
    -------
    Any
        The value, so ``auc = nbprod.record("auc", score(...))`` works.

    Raises
    ------
    TypeError
        When the name is not a string or the value is not JSON data.
    ValueError
        When the value is NaN/infinite or too large.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("the metric name must be a non-empty string")
    plain = _plain(value)
    if isinstance(plain, float) and not math.isfinite(plain):
        raise ValueError(f"metric {name!r} is {plain}, which JSON cannot hold")
    try:
        text = json.dumps(plain, allow_nan=False, default=None)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"metric {name!r} must be a number, string or small JSON data, "
            f"not {type(value).__name__} ({exc})"
        ) from None
    if len(text.encode("utf-8")) > MAX_METRIC_BYTES:
        raise ValueError(
            f"metric {name!r} is over {MAX_METRIC_BYTES // 1024} KiB of JSON"
        )
    from IPython.display import display  # only where a metric is recorded

    display(
        {METRIC_MIME: {"name": name, "value": plain}, "text/plain": f"{name}: {text}"},
        raw=True,
    )
    return value


def read_metrics(nb: NotebookNode) -> dict[str, Any]:
    """Return the metrics recorded in an executed notebook (the last value of each name)."""
    from nbprod.notebook.outputs import recorded_payloads

    return {
        data["name"]: data.get("value") for data in recorded_payloads(nb, METRIC_MIME)
    }
