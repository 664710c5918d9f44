"""nbprod: take Jupyter notebooks to production.

Export tagged cells to a package with tests, run notebooks with parameters
and keep an audit trail of every run, and ship through a quality gate.
"""

from nbprod._startup import defer_slow_imports

defer_slow_imports()  # before anything imports nbformat (and so jsonschema)

from nbprod._version import __version__  # noqa: E402
from nbprod.monitor.profile import profile  # noqa: E402
from nbprod.run.metrics import record  # noqa: E402

__all__ = ["__version__", "profile", "record"]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Tell jupyter_server where nbprod's server extension is (imported only then)."""
    from nbprod.server import NbprodApp

    return [{"module": "nbprod.server", "app": NbprodApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where nbprod's built front-end is."""
    return [{"src": "labextension", "dest": "nbprod"}]
