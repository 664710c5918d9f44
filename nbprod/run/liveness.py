"""Processes that die with the batch, and the heartbeat of running work.

A batch's local workers are forked from multiprocessing's forkserver, and each
starts kernels. When the batch's process is killed outright (``kill -9``, an
OOM kill, a closed terminal), none of them is told. So the forkserver and
every worker run a watchdog thread that checks, twice a second, that the
process driving the batch still exists (pid and start time, as pids are
reused); when it does not, the watchdog kills its own descendants (workers,
kernels) and exits. The resource tracker then sees its last client go and
exits by itself. Kernels also stop on their own once their worker is gone
(ipykernel watches its parent).

:func:`heartbeat` keeps the history's ``heartbeat_at`` of the work a process
owns fresh, so another host can tell live work from dead work by its age.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import psutil

from nbprod.history.owner import HEARTBEAT_INTERVAL, Owner, same_process

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore

#: seconds between two looks of a watchdog at the process it follows
WATCH_INTERVAL = 0.5

#: the batch process this one must not outlive (set in the forkserver, and
#: inherited by the workers it forks)
_WATCHED: tuple[int, float] | None = None


def kill_descendants() -> None:
    """SIGKILL every process below this one (workers, kernels), deepest first."""
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for child in reversed(children):
        with contextlib.suppress(psutil.Error):
            child.kill()


def _watch(pid: int, started: float) -> None:
    event = threading.Event()
    while not event.wait(WATCH_INTERVAL):
        if not same_process(pid, started):
            kill_descendants()
            os._exit(70)


def die_with(pid: int, started: float | None = None) -> None:
    """Make this process (and what it started) end soon after process ``pid`` ends.

    A watchdog thread rather than a parent-death signal (``PR_SET_PDEATHSIG``):
    the signal would kill this process before it could take its children down.
    """
    global _WATCHED
    if started is None:
        try:
            started = psutil.Process(pid).create_time()
        except psutil.Error:
            os._exit(70)  # already gone
    _WATCHED = (pid, started)
    threading.Thread(
        target=_watch, args=(pid, started), name="nbprod-watchdog", daemon=True
    ).start()


def init_batch_worker() -> None:
    """Initializer of a local batch worker: die with the batch, then the usual set-up."""
    from nbprod.run.execute import init_local_worker

    # the forkserver recorded the batch process before forking this worker
    pid, started = _WATCHED or (os.getppid(), None)
    die_with(pid, started)
    init_local_worker()


def _started_by_forkserver() -> bool:
    # multiprocessing's forkserver imports its preload modules from its main()
    frame = sys._getframe(1)
    suffix = os.path.join("multiprocessing", "forkserver.py")
    while frame is not None:
        code = frame.f_code
        if code.co_name == "main" and code.co_filename.endswith(suffix):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def guard_forkserver() -> None:
    """In the forkserver (this module is one of its preloads): die with the batch.

    The forkserver's parent is the process that started the pool: the batch.
    """
    if _started_by_forkserver():
        die_with(os.getppid())


@contextlib.contextmanager
def heartbeat(store: HistoryStore, owner: Owner) -> Iterator[None]:
    """Refresh ``owner``'s heartbeat on its unfinished work while the block runs."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_INTERVAL):
            # a busy database must not end the work it reports on
            with contextlib.suppress(Exception):
                store.heartbeat(owner)

    thread = threading.Thread(target=beat, name="nbprod-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=5)


guard_forkserver()
