"""Per-project locks for the state several writers share.

The CLI, the server's threads and its worker processes may act on one project
at the same time: two "Export on save" requests, an export in a terminal while
the server exports, a push while a sync stages notebooks. Each shared thing
(the export manifest, the git index) is changed under its own lock, a file in
the project's ``.nbprod/`` folder taken with the ``filelock`` package, so the
second writer waits for the first instead of overwriting what it did.

The lock works across processes (``flock``) and across threads of one process
(each thread holds it through its own descriptor), and is re-entrant within a
thread, so a function holding ``project_lock(config, "git")`` may call another
that takes it too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from nbprod.config import ProjectConfig
from nbprod.errors import LockTimeoutError

if TYPE_CHECKING:
    from filelock import FileLock

#: what each lock guards, for the message when it cannot be had
LOCKS = {
    "export": "the export manifest (.nbprod/export.json)",
    "git": "the git index",
}

#: seconds a second writer waits for the first (NBPROD_LOCK_TIMEOUT overrides it)
DEFAULT_TIMEOUT = 120.0

_locks: dict[str, FileLock] = {}
_guard = threading.Lock()


def lock_timeout() -> float:
    """The default wait for a project lock, in seconds (``NBPROD_LOCK_TIMEOUT``)."""
    text = os.environ.get("NBPROD_LOCK_TIMEOUT", "")
    try:
        return float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def lock_path(config: ProjectConfig, name: str) -> Path:
    """The lock file of ``name`` (``export``, ``git``) in the project's state folder."""
    return config.state_dir / f"{name}.lock"


def _file_lock(path: Path) -> FileLock:
    # one FileLock per file in this process: its holds are counted per thread
    # (re-entrant), while two threads still exclude each other
    from filelock import FileLock  # imported when a lock is taken (asyncio and all)

    key = str(path)
    with _guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = FileLock(key, thread_local=True)
        return lock


@contextmanager
def project_lock(
    config: ProjectConfig, name: str, timeout: float | None = None
) -> Iterator[None]:
    """Hold the project's lock ``name`` for the duration of a ``with`` block.

    Parameters
    ----------
    config : ProjectConfig
        The project; the lock file lives in its ``.nbprod/`` folder.
    name : str
        Which shared state: ``"export"`` (the export manifest and the files it
        records) or ``"git"`` (anything that writes the git index).
    timeout : float, optional
        Seconds to wait for another holder; default :func:`lock_timeout`.

    Raises
    ------
    LockTimeoutError
        When another command still holds the lock after ``timeout`` seconds.
    """
    path = lock_path(config, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = lock_timeout() if timeout is None else timeout
    lock = _file_lock(path)
    from filelock import Timeout

    try:
        lock.acquire(timeout=wait)
    except Timeout:
        what = LOCKS.get(name, name)
        raise LockTimeoutError(
            f"another nbprod command has held the lock on {what} for {wait:g}s",
            hint="wait for it to finish, then try again",
        ) from None
    try:
        yield
    finally:
        lock.release()
