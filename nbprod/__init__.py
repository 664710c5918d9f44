"""nbprod: take Jupyter notebooks to production.

Export tagged cells to a package with tests, run notebooks with parameters
and keep an audit trail of every run, and ship through a quality gate.
"""

from nbprod._version import __version__
from nbprod.run.metrics import record

__all__ = ["__version__", "record"]
