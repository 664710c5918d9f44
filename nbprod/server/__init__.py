"""nbprod's jupyter_server extension: a REST API over export, runs, history, gate and push."""

from __future__ import annotations

from typing import Any

__all__ = ["NbprodApp"]


def __getattr__(name: str) -> Any:
    # NbprodApp pulls in jupyter_server: imported when asked for, so the plan
    # worker processes (nbprod.server.planning) start without it
    if name == "NbprodApp":
        from nbprod.server.app import NbprodApp

        return NbprodApp
    raise AttributeError(f"module 'nbprod.server' has no attribute {name!r}")
