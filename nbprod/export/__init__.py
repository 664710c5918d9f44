"""Export: notebook cells tagged ``export`` and ``test`` to a module and its pytest tests."""

from nbprod.export.plan import ExportPlan, GeneratedFile, plan_notebook
from nbprod.export.writer import (
    ExportResult,
    FileResult,
    NotebookResult,
    export_notebooks,
    find_notebooks,
)

__all__ = [
    "ExportPlan",
    "ExportResult",
    "FileResult",
    "GeneratedFile",
    "NotebookResult",
    "export_notebooks",
    "find_notebooks",
    "plan_notebook",
]
