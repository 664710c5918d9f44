"""Fast start of nbprod's worker processes.

jsonschema (imported by nbformat, hence by papermill) imports the optional
``rfc3987_syntax`` package when it is installed, and that package builds a
parser grammar at import time: over a second of CPU in every process, which
is most of papermill's import time. nbformat's schema uses no IRI formats, so
nbprod's own worker processes mark the package unavailable before anything
imports jsonschema. Importing this module does exactly that; it is the first
module the local workers' forkserver preloads, and is never imported into a
user's Jupyter server or kernel.
"""

from __future__ import annotations

import sys


def skip_slow_optional_imports() -> None:
    """Make jsonschema skip its optional ``rfc3987_syntax`` IRI checker in this process."""
    if "jsonschema" not in sys.modules:
        # a None entry makes `import rfc3987_syntax` raise ImportError, which
        # jsonschema treats as "not installed"
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


skip_slow_optional_imports()
