"""nbprod: take Jupyter notebooks to production.

Export tagged cells to a package with tests, run notebooks with parameters
and keep an audit trail of every run, and ship through a quality gate.
"""

from typing import TYPE_CHECKING, Any

from nbprod._startup import defer_slow_imports

defer_slow_imports()  # before anything imports nbformat (and so jsonschema)

from nbprod._version import __version__  # noqa: E402

if TYPE_CHECKING:
    from nbprod.monitor.profile import profile
    from nbprod.run.metrics import record

__all__ = ["__version__", "profile", "record"]

#: what a notebook calls, imported on first use: every nbprod command and
#: kernel imports this package, and most never profile or record anything
_LAZY = {"profile": "nbprod.monitor.profile", "record": "nbprod.run.metrics"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nbprod' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Tell jupyter_server where nbprod's server extension is (imported only then)."""
    from nbprod.server import NbprodApp

    return [{"module": "nbprod.server", "app": NbprodApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where nbprod's built front-end is."""
    return [{"src": "labextension", "dest": "nbprod"}]
