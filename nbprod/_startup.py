"""Start-up cost that nbprod's processes do not need to pay.

Every Jupyter install has ``jsonschema[format-nongpl]`` (jupyter_events asks for
it), and jsonschema imports its optional format checkers' libraries eagerly,
so ``import nbformat`` pays for all of them in every nbprod command, planning
process, run worker and git filter. No notebook schema uses those formats.
The costly ones:

- ``rfc3987_syntax`` compiles about 40 Lark grammars at import: 1.7 s on the
  2-core machine (jsonschema issue #1428);
- ``isoduration`` imports ``arrow`` (and dateutil's time zones): about 35 ms,
  a tenth of a cached export;
- ``rfc3986_validator`` compiles its grammar's regular expressions: about 15 ms.

:func:`defer_slow_imports` puts a stand-in under each name whose functions
import the real module on their first call, so jsonschema behaves exactly as
before and only a process that checks such a format pays for it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from typing import Any


def _real_module(name: str) -> types.ModuleType:
    """Import a deferred module for real, replacing its stand-in."""
    current = sys.modules.get(name)
    if current is not None and not getattr(current, "_nbprod_stand_in", False):
        return current
    sys.modules.pop(name, None)
    module = importlib.import_module(name)
    # a submodule loaded ahead from its file (isoduration's exceptions) is
    # reachable as an attribute of its package, as a normal import makes it
    for sub in [m for m in sys.modules if m.startswith(name + ".")]:
        parent, _, child = sub.rpartition(".")
        if parent in sys.modules and not hasattr(sys.modules[parent], child):
            setattr(sys.modules[parent], child, sys.modules[sub])
    return module


def _forwarder(module: str, function: str) -> Callable[..., Any]:
    """A function that loads ``module`` and calls its ``function``."""

    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(_real_module(module), function)(*args, **kwargs)

    forward.__name__ = function
    forward.__qualname__ = function
    return forward


def _load_file(name: str, origin: str) -> types.ModuleType | None:
    """Import one submodule from its file, without its packages' ``__init__``."""
    spec = importlib.util.spec_from_file_location(name, origin)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _isoduration_names() -> dict[str, Any] | None:
    # jsonschema reads isoduration.DurationParsingException at import (what its
    # duration check raises): the real class, from its own file, without
    # isoduration's __init__ (which imports arrow). The real package, loaded
    # later, finds this module in sys.modules and uses the same classes.
    spec = importlib.util.find_spec("isoduration")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        return None
    exceptions = _load_file(
        "isoduration.parser.exceptions", f"{folders[0]}/parser/exceptions.py"
    )
    if exceptions is None:
        return None
    return {"DurationParsingException": exceptions.DurationParsingException}


#: module -> the functions jsonschema imports from it, and other names it reads
_DEFERRED: dict[str, tuple[tuple[str, ...], Callable[[], dict[str, Any] | None]]] = {
    "rfc3987_syntax": (("is_valid_syntax",), dict),
    "rfc3986_validator": (("validate_rfc3986",), dict),
    "isoduration": (("parse_duration", "format_duration"), _isoduration_names),
}


def defer_slow_imports() -> None:
    """Defer the optional format checkers' slow imports to their first use.

    Does nothing for a module already imported (for instance in a Jupyter
    server that loaded jsonschema before nbprod) or not installed.
    """
    for name, (functions, extra) in _DEFERRED.items():
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        try:
            names = extra()
        except (ImportError, OSError, AttributeError):
            names = None
        if names is None:
            continue
        stand_in = types.ModuleType(name, "nbprod's stand-in: loads on first use")
        if spec.submodule_search_locations is not None:
            # a submodule imported directly still comes from the real files
            stand_in.__path__ = list(spec.submodule_search_locations)
        stand_in.__dict__.update(
            {function: _forwarder(name, function) for function in functions},
            **names,
            __getattr__=_module_getattr(name),
            _nbprod_stand_in=True,
        )
        sys.modules[name] = stand_in


def _module_getattr(module: str) -> Callable[[str], Any]:
    """Any other name loads the real module (a module-level ``__getattr__``)."""

    def getattr_(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real_module(module), name)

    return getattr_
