"""git's clean filter and diff textconv: nbstripout, started without its slowest import.

``python -m nbstripout`` imports nbformat, hence jsonschema, which builds
``rfc3987_syntax``'s grammars at import: 1.7 s of every filter run on the
2-core machine, and git runs the filter for each changed notebook it stages or
compares (``git add``, ``git status`` after a save, the Ship preview). This
module is nbstripout's own command line behind nbprod's import deferral
(:mod:`nbprod._startup`).
"""

from __future__ import annotations

from nbprod._startup import defer_slow_imports

defer_slow_imports()  # before nbstripout imports nbformat

if __name__ == "__main__":  # pragma: no cover - run by git
    from nbstripout import main

    main()
