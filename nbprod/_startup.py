"""Start-up cost that nbprod's processes do not need to pay.

Every Jupyter install has ``jsonschema[format-nongpl]`` (jupyter_events asks for
it), which brings ``rfc3987_syntax``: at import it compiles about 40 Lark
grammars, 1.7 s on the 2-core machine, and jsonschema imports it eagerly, so
``import nbformat`` took 2.3 s in every nbprod command, planning process and run
worker (jsonschema issue #1428). No notebook schema uses the ``iri`` formats it
checks. :func:`defer_slow_imports` puts a stand-in under its name whose functions
import the real module on their first call, so jsonschema behaves exactly as
before and only a process that validates an IRI pays for the grammars.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

_DEFERRED = "rfc3987_syntax"


def _real_module() -> types.ModuleType:
    """Import the deferred module for real, replacing the stand-in."""
    current = sys.modules.get(_DEFERRED)
    if current is not None and not getattr(current, "_nbprod_stand_in", False):
        return current
    sys.modules.pop(_DEFERRED, None)
    return importlib.import_module(_DEFERRED)


def _is_valid_syntax(term: str, value: str) -> bool:
    """The stand-in for ``rfc3987_syntax.is_valid_syntax`` (what jsonschema imports)."""
    result: bool = _real_module().is_valid_syntax(term, value)
    return result


def _module_getattr(name: str) -> Any:
    """Any other name loads the real module (module-level ``__getattr__``)."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_real_module(), name)


def defer_slow_imports() -> None:
    """Defer ``rfc3987_syntax``'s import-time grammar compilation to its first use.

    Does nothing when the module is already imported (for instance in a Jupyter
    server that loaded jsonschema before nbprod) or is not installed.
    """
    if _DEFERRED in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(_DEFERRED)
    except (ImportError, ValueError):
        return
    if spec is None:
        return
    stand_in = types.ModuleType(_DEFERRED, "nbprod's stand-in: loads on first use")
    stand_in.__dict__.update(
        is_valid_syntax=_is_valid_syntax,
        __getattr__=_module_getattr,
        _nbprod_stand_in=True,
    )
    sys.modules[_DEFERRED] = stand_in
