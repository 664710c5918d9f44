"""nbprod's jupyter_server extension: a REST API over export, runs, history, gate and push."""

from nbprod.server.app import NbprodApp

__all__ = ["NbprodApp"]
