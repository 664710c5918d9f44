"""Small file-system helpers shared by every layer."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically, skipping unchanged content.

    The text goes to a temporary file in the same folder, which then replaces
    the target in one rename, so a reader never sees a half-written file.

    Parameters
    ----------
    path : Path
        The file to write; its parent folders are created.
    text : str
        The full new content.

    Returns
    -------
    bool
        True when the file was written, False when it already had this content.
    """
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
