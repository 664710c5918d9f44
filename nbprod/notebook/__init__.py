"""Reading notebooks and understanding their cells (roles, directives, parameters)."""

from nbprod.notebook.reader import read_notebook

__all__ = ["read_notebook"]
