"""What a notebook's code recorded in its outputs under nbprod's own MIME types.

``nbprod.record`` (metrics) and ``nbprod.profile`` (data profiles) display a
JSON payload with a custom MIME type; the run layer and monitoring read the
executed notebook back through :func:`recorded_payloads`. Kept free of heavy
imports: it runs on every finished run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def recorded_payloads(nb: Any, mime: str) -> Iterator[dict[str, Any]]:
    """Yield, in notebook order, every named JSON payload displayed with ``mime``.

    Parameters
    ----------
    nb : NotebookNode or dict
        An executed notebook.
    mime : str
        The MIME type the payloads were displayed with.

    Yields
    ------
    dict
        Each payload that is a JSON object with a string ``name``.
    """
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            data = output.get("data", {}).get(mime)
            if isinstance(data, str):  # some writers keep JSON mime data as text
                try:
                    data = json.loads(data)
                except ValueError:
                    continue
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                yield data
