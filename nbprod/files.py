"""Small file-system helpers shared by every layer."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

#: the mode ``open(path, "w")`` asks for; the kernel takes the umask off it
_PLAIN_FILE_MODE = 0o666


def write_atomic(path: Path, text: str | bytes) -> bool:
    """Write ``text`` to ``path`` atomically, skipping unchanged content.

    The text goes to a temporary file in the same folder (:func:`stage_write`),
    which then replaces the target in one rename, so a reader never sees a
    half-written file.

    Parameters
    ----------
    path : Path
        The file to write; its parent folders are created.
    text : str or bytes
        The full new content (str is written as UTF-8).

    Returns
    -------
    bool
        True when the file was written, False when it already had this content.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    tmp = stage_write(path, data)
    if tmp is None:
        return False
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def stage_write(path: Path, data: bytes) -> Path | None:
    """Write ``data`` to a new temporary file next to ``path``, ready to replace it.

    The temporary file has the mode a plain ``open(path, "w")`` would give
    ``path``: a new file the umask's mode (and the folder's default ACL), an
    existing file its own mode. Not the 0600 of ``tempfile.mkstemp``: on a
    shared volume that would hide generated code from the colleagues who read
    it. The caller renames it over ``path`` (``os.replace``) or deletes it;
    writers of several files at once stage them all first.

    Returns
    -------
    Path or None
        The temporary file, or None when ``path`` already holds ``data``.
    """
    try:
        if path.read_bytes() == data:
            return None
    except FileNotFoundError:
        pass
    try:
        # replaced files keep their mode (the rename would otherwise drop it)
        keep: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        keep = None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            if keep is not None:
                os.fchmod(handle.fileno(), keep)
            handle.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _create_temporary(path: Path) -> tuple[int, Path]:
    """Create a new, empty file next to ``path`` as ``open()`` would (umask applies)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, _PLAIN_FILE_MODE), tmp
        except FileExistsError:
            continue
