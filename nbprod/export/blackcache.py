"""Black's output for a generated file, kept on disk by what went into black.

Formatting is nearly all of an export's work, and most of it is done again
for code that black has seen before: the files of a fresh clone or of a branch
switched back to, a module whose notebook changed outside its exported cells,
the same export from the command line, a pre-commit hook and the Jupyter
server. Like black's own cache, this one is per user (``~/.cache/nbprod``);
unlike black's, it is keyed by the text given to black (its hash), black's
installed files and the project's black settings, never by file times, so a
hit is black's output byte for byte. ``NBPROD_FORMAT_CACHE`` names another
folder, or turns the cache off when empty.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from nbprod.files import write_atomic

if TYPE_CHECKING:
    import black

#: the environment variable naming the cache folder ("" turns the cache off)
CACHE_ENV = "NBPROD_FORMAT_CACHE"

#: entries kept; beyond this the least recently written are removed
MAX_ENTRIES = 4000

#: the formatting this process has done (cache misses), for the export's planner
misses = 0

#: changes when the key's meaning changes, so old entries are never read
_KEY_VERSION = "1"


def cache_dir() -> Path | None:
    """The folder of the format cache, or None when it is turned off."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return Path(value) if value else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "nbprod" / "format"


@functools.cache
def _black_fingerprint() -> str:
    # black's own files identify its version (and a reinstall) without
    # importing black, which costs more than a whole cached export
    spec = importlib.util.find_spec("black")
    origin = spec.origin if spec and spec.origin else ""
    try:
        stat = os.stat(origin)
    except OSError:
        return origin
    return f"{origin}:{stat.st_size}:{stat.st_mtime_ns}"


def _entry(folder: Path, source: str, style: tuple[Any, ...]) -> Path:
    digest = hashlib.sha256()
    for part in (_KEY_VERSION, _black_fingerprint(), repr(style), source):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    key = digest.hexdigest()
    return folder / key[:2] / f"{key}.py"


def format_source(source: str, style: tuple[Any, ...]) -> str:
    """``black.format_str(source)`` under the project's black settings, from the cache when seen.

    Parameters
    ----------
    source : str
        The text to format.
    style : tuple
        The project's ``[tool.black]`` settings (:func:`nbprod.export.render.black_style`).

    Returns
    -------
    str
        Black's output.

    Raises
    ------
    black.InvalidInput
        When black cannot parse ``source`` (nothing is cached then).
    """
    folder = cache_dir()
    entry = _entry(folder, source, style) if folder is not None else None
    if entry is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return entry.read_text("utf-8")
    import black

    global misses
    misses += 1
    text = black.format_str(source, mode=mode_from_style(style))
    if entry is not None:
        with contextlib.suppress(OSError):
            write_atomic(entry, text)
            if random.random() < 0.02:  # now and then: keep the folder bounded
                prune(entry.parent.parent)
    return text


def prune(folder: Path, keep: int = MAX_ENTRIES) -> int:
    """Remove the oldest entries beyond ``keep``; the number removed."""
    entries = []
    with contextlib.suppress(OSError):
        for sub in os.scandir(folder):
            if sub.is_dir():
                with contextlib.suppress(OSError):
                    entries += [(e.stat().st_mtime_ns, e.path) for e in os.scandir(sub)]
    entries.sort(reverse=True)
    removed = 0
    for _, path in entries[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed += 1
    return removed


@functools.lru_cache(maxsize=32)
def mode_from_style(style: tuple[Any, ...]) -> black.Mode:
    """Black's mode for a project's ``[tool.black]`` settings (sorted ``(key, value)`` pairs)."""
    import black

    settings = dict(style)
    line_length = settings.get("line-length", black.DEFAULT_LINE_LENGTH)
    # Declared target versions also spare black from inferring them per file.
    targets = {
        black.TargetVersion[str(name).upper()]
        for name in cast(list, settings.get("target-version", []))
        if str(name).upper() in black.TargetVersion.__members__
    }
    return black.Mode(
        target_versions=targets,
        line_length=(
            line_length if isinstance(line_length, int) else black.DEFAULT_LINE_LENGTH
        ),
        string_normalization=not settings.get("skip-string-normalization", False),
        magic_trailing_comma=not settings.get("skip-magic-trailing-comma", False),
        preview=bool(settings.get("preview", False)),
    )
