"""Who owns running work: a process on a host, and whether it is still there.

Runs and batches record their owner (host, pid, process start time) and a
heartbeat. On the owner's own host, liveness is exact: the pid must exist with
the same start time (pids are reused). On another host nbprod never guesses
from a pid; it reads the heartbeat's age instead.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import socket
from dataclasses import dataclass

import psutil

#: seconds between heartbeats of running work
HEARTBEAT_INTERVAL = 10.0
#: a heartbeat older than this means the owner on another host is gone
STALE_AFTER = 90.0


@dataclass(frozen=True)
class Owner:
    """The process that runs a batch or a run.

    Attributes
    ----------
    host : str
        The host name.
    pid : int
        The process id on that host.
    started : float
        The process's start time (seconds since the epoch, as psutil reports it).
    """

    host: str
    pid: int
    started: float

    def to_dict(self) -> dict[str, object]:
        """Return the owner as a JSON-ready mapping."""
        return {"host": self.host, "pid": self.pid}


@functools.cache
def _host() -> str:
    return socket.gethostname()


def process_owner(pid: int | None = None) -> Owner:
    """Return the owner record of a process on this host (default: this one)."""
    pid = os.getpid() if pid is None else pid
    return Owner(_host(), pid, psutil.Process(pid).create_time())


def same_process(pid: int, started: float) -> bool:
    """True when ``pid`` on this host is alive and is the process started at ``started``."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        # create_time is rounded differently between calls: a second's slack
        return abs(process.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:  # another user's live process
        return True


def owner_alive(
    owner: Owner, heartbeat_at: _dt.datetime | None, at: _dt.datetime | None = None
) -> bool:
    """Whether the owner of some work is still running it.

    Parameters
    ----------
    owner : Owner
        The recorded owner.
    heartbeat_at : datetime or None
        The work's last heartbeat.
    at : datetime, optional
        The current time (UTC); default: now.
    """
    if owner.host == _host():
        return same_process(owner.pid, owner.started)
    if heartbeat_at is None:
        return False
    now = at or _dt.datetime.now(_dt.timezone.utc)
    return (now - heartbeat_at).total_seconds() < STALE_AFTER
