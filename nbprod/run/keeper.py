"""The warm keeper: a project's templates kept warm between commands.

A ``nbprod run`` or ``nbprod batch`` on its own starts a template with the
notebook's imports and stops it when the command ends, so every command pays
``import pandas, sklearn`` again: 1.5 s for the example's training notebook,
more than its eight runs' own compute. Beside JupyterLab the server's
templates serve the terminal (:func:`nbprod.run.warm.adopt_announced`); the
keeper does the same without JupyterLab.

``nbprod warm start`` (or ``[tool.nbprod.run] keep_warm`` set to minutes,
which starts one at the first run) starts the keeper: a small detached
process that shares its templates exactly as the Jupyter server does, in a
folder closed to other users announced in the project's state folder. Each
command asks it, on its control socket, for the template of its notebook's
imports; the keeper starts a missing one, restarts one whose Python
environment changed, keeps the few most recently used, and exits after its
idle time without a command or a running kernel. A server that starts later
takes the announcement over, and the keeper then leaves.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from nbprod.errors import KeeperError
from nbprod.run import warm
from nbprod.run.zygote import process_running, read_request

log = logging.getLogger("nbprod.run.keeper")

#: import sets kept warm at once (a template with pandas and scikit-learn is
#: about 90 MiB PSS)
MAX_TEMPLATES = 4

#: idle minutes of ``nbprod warm start`` when neither ``--idle`` nor
#: ``keep_warm`` says otherwise
DEFAULT_IDLE_MINUTES = 30.0

#: the keeper's log in the project's state folder (rewritten at each start)
LOG_NAME = "warm-keeper.log"

#: seconds ``start`` waits for a new keeper to announce itself
START_TIMEOUT = 20.0


class KeptTemplates:
    """The templates a long-lived process keeps warm: the few most recently used.

    The Jupyter server and the keeper both keep theirs this way.

    Parameters
    ----------
    forced : tuple of str
        ``[tool.nbprod.run] preload``.
    logger : logging.Logger
        Where restarts are reported.
    """

    def __init__(self, forced: tuple[str, ...], logger: logging.Logger) -> None:
        self.forced = forced
        self.log = logger
        self._lock = threading.Lock()
        #: the templates by import set, most recently used last
        self._recent: OrderedDict[tuple[str, ...], Any] = OrderedDict()

    def keep(self, modules: tuple[str, ...]) -> Any:
        """Make sure a template for these imports runs, and return it.

        A missing or dead one is started, a ready one whose environment
        changed (a package installed) is restarted, and the least recently
        used beyond :data:`MAX_TEMPLATES` are stopped once their kernels end.
        """
        with self._lock:
            template = warm.get_template(modules, self.forced)
            self._recent[modules] = template
            self._recent.move_to_end(modules)
            retired = []
            while len(self._recent) > MAX_TEMPLATES:
                retired.append(self._recent.popitem(last=False)[1])
        for old in retired:
            warm.retire_template(old)
        return self._checked(modules, template)

    def _checked(self, modules: tuple[str, ...], template: Any) -> Any:
        """``template``, or its replacement when its environment changed."""
        if not os.path.exists(template.socket_path):
            return template  # still importing: nothing to check yet
        try:
            refusal = template.ping().get("refusal")
        except (OSError, ValueError):
            return template  # get_template replaces a dead one next time
        if not refusal:
            return template
        self.log.info("nbprod: restarting a warm template: %s", refusal)
        warm.restart_template(template)
        with self._lock:
            template = warm.get_template(modules, self.forced)
            if modules in self._recent:
                self._recent[modules] = template
        return template

    def templates(self) -> list[Any]:
        """The templates kept warm, least recently used first."""
        with self._lock:
            return list(self._recent.values())

    def describe(self) -> list[dict[str, Any]]:
        """Each template's imports and pid; once ready, which of the imports it
        preloaded (the others are the project's own or not installed), its
        forks and its live kernels."""
        found = []
        for template in self.templates():
            entry: dict[str, Any] = {
                "modules": list(template.modules),
                "pid": template.pid,
                "ready": False,
                "preloaded": [],
                "forks": 0,
                "kernels": 0,
            }
            if template.alive() and os.path.exists(template.socket_path):
                with contextlib.suppress(OSError, ValueError):
                    info = template.ping()
                    done = set(info["preloaded"])
                    entry.update(
                        ready=True,
                        preloaded=[m for m in template.modules if m in done],
                        forks=info["forks"],
                        kernels=len(info["children"]),
                    )
            found.append(entry)
        return found

    def busy(self) -> bool:
        """True while a kernel forked from one of the templates runs."""
        return any(entry["kernels"] for entry in self.describe())


# -- the keeper process ------------------------------------------------------


class Keeper:
    """The keeper's state: its control socket, idle clock and templates."""

    def __init__(self, state_dir: Path, idle: float, forced: tuple[str, ...]):
        self.state_dir = state_dir
        self.idle = idle
        self.kept = KeptTemplates(forced, log)
        self.folder = warm.share_templates()
        self.socket_path = os.path.join(self.folder, warm.KEEPER_SOCKET)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.socket_path)
        self.listener.listen(16)
        self.last_used = time.monotonic()
        self.stopping = ""

    def serve(self) -> str:
        """Answer commands until idle, stopped or replaced; return why it ended."""
        warm.announce(self.state_dir)
        while True:
            busy = self.kept.busy()
            if busy:
                self.last_used = time.monotonic()
            if not self.stopping:
                found = warm.read_announcement(self.state_dir)
                if found is None or found[1] != os.getpid():
                    self.stopping = "another process announced its templates"
                elif time.monotonic() - self.last_used > self.idle:
                    self.stopping = f"idle for {self.idle / 60:g} min"
                if self.stopping:
                    # no new command adopts it; the running ones finish
                    warm.withdraw(self.state_dir)
            if self.stopping and not busy:
                return self.stopping
            ready, _, _ = select.select([self.listener], [], [], 0.5)
            if ready:
                conn, _ = self.listener.accept()
                with conn, contextlib.suppress(OSError, ValueError):
                    self.answer(conn)

    def answer(self, conn: socket.socket) -> None:
        """Read one request from ``conn`` and reply to it."""
        request = read_request(conn)
        if request is None:
            return
        op = request.get("op")
        reply: dict[str, Any]
        if op == "keep":
            reply = self.keep(request)
        elif op == "status":
            left = self.idle - (time.monotonic() - self.last_used)
            reply = {
                "ok": True,
                "pid": os.getpid(),
                "idle": self.idle,
                "idle_left": max(0.0, left),
                "stopping": self.stopping or None,
                "templates": self.kept.describe(),
            }
        elif op == "stop":
            if not self.stopping:
                self.stopping = "asked to stop"
                warm.withdraw(self.state_dir)
            reply = {"ok": True, "pid": os.getpid()}
        else:
            reply = {"ok": False, "reason": f"unknown request {op!r}"}
        conn.sendall(json.dumps(reply).encode() + b"\n")

    def keep(self, request: dict[str, Any]) -> dict[str, Any]:
        """Start (or refresh) the template a command asks for."""
        if self.stopping:
            return {"ok": False, "reason": f"the keeper is stopping ({self.stopping})"}
        modules = tuple(str(m) for m in request.get("modules", []))
        forced = tuple(str(m) for m in request.get("forced", []))
        if forced != self.kept.forced:
            # every template would be the wrong one: leave, and let the next
            # command start a keeper with the new list
            self.stopping = "the project's preload list changed"
            warm.withdraw(self.state_dir)
            return {"ok": False, "reason": self.stopping}
        # the name says which interpreter and PYTHON* variables the template
        # would have: a command from another environment starts its own
        if request.get("name") != warm.template_name(modules, forced):
            return {
                "ok": False,
                "reason": "the command runs another Python environment",
            }
        self.last_used = time.monotonic()
        known = {t.pid for t in self.kept.templates()}
        template = self.kept.keep(modules)
        if template.pid not in known:
            log.info("template %s started for %s", template.pid, ", ".join(modules))
        return {"ok": True, "pid": template.pid}

    def close(self) -> None:
        """Withdraw, close the socket and stop the templates."""
        warm.withdraw(self.state_dir)
        self.listener.close()
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)
        warm.stop_sharing()


def main(argv: list[str]) -> int:
    """The keeper process: ``python -m nbprod.run.keeper STATE_DIR OPTIONS_JSON``."""
    state_dir = Path(argv[0])
    options = json.loads(argv[1])
    logging.basicConfig(
        filename=state_dir / LOG_NAME,
        filemode="w",
        level=logging.INFO,
        format="%(asctime)s %(message)s",
    )
    keeper = Keeper(state_dir, float(options["idle"]), tuple(options["forced"]))

    def on_sigterm(signum: int, frame: Any) -> None:
        keeper.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    log.info("keeper %s started for %s", os.getpid(), state_dir)
    try:
        reason = keeper.serve()
    finally:
        keeper.close()
    log.info("keeper %s stopped: %s", os.getpid(), reason)
    return 0


# -- what the command line asks of a keeper -----------------------------------


def announced(state_dir: Path) -> dict[str, Any] | None:
    """Who keeps the project's templates warm: ``{"pid", "folder", "keeper"}`` or None.

    ``keeper`` is False for a Jupyter server, whose templates serve the
    command line as well but who has no control socket.
    """
    found = warm.read_announcement(state_dir)
    if found is None:
        return None
    folder, pid = found
    keeper = os.path.exists(os.path.join(folder, warm.KEEPER_SOCKET))
    return {"pid": pid, "folder": folder, "keeper": keeper}


def start(state_dir: Path, idle: float, forced: tuple[str, ...]) -> dict[str, Any]:
    """Start a keeper for the project unless one (or a server) already announced.

    Parameters
    ----------
    state_dir : Path
        The project's state folder (``.nbprod``).
    idle : float
        Seconds without a command after which it exits.
    forced : tuple of str
        ``[tool.nbprod.run] preload``.

    Returns
    -------
    dict
        What :func:`announced` says afterwards, plus ``"started": bool``.

    Raises
    ------
    KeeperError
        When the new keeper exited or did not announce itself in time.
    """
    from filelock import FileLock

    state_dir.mkdir(parents=True, exist_ok=True)
    # two commands starting one at once: the second waits and finds the first
    with FileLock(str(state_dir / "warm-keeper.lock")):
        found = announced(state_dir)
        if found is not None:
            return {**found, "started": False}
        env = {k: v for k, v in os.environ.items() if k != warm.SHARED_ENV}
        options = {"idle": idle, "forced": list(forced)}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nbprod.run.keeper",
                str(state_dir),
                json.dumps(options),
            ],
            env=env,
            cwd=state_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # it outlives this command and its terminal: Ctrl-C and a closed
            # terminal do not reach it
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            found = announced(state_dir)
            if found is not None and found["pid"] == process.pid:
                return {**found, "started": True}
            code = process.poll()
            if code is not None:
                raise KeeperError(
                    f"the warm keeper exited with code {code}",
                    hint=f"see {state_dir / LOG_NAME}",
                )
            if time.monotonic() > deadline:
                process.kill()
                raise KeeperError(
                    "the warm keeper did not start in time",
                    hint=f"see {state_dir / LOG_NAME}",
                )
            time.sleep(0.01)


def status(state_dir: Path) -> dict[str, Any] | None:
    """The keeper's own account (pid, idle time left, templates), or None.

    A Jupyter server's announcement gives ``{"pid", "folder", "keeper": False}``.
    """
    found = announced(state_dir)
    if found is None or not found["keeper"]:
        return found
    try:
        reply = warm.request(
            os.path.join(found["folder"], warm.KEEPER_SOCKET), {"op": "status"}, 10
        )
    except (OSError, ValueError):
        return None
    return {**found, **reply}


def stop(state_dir: Path, timeout: float = 60.0) -> dict[str, Any] | None:
    """Ask the project's keeper to stop and wait until it has; what it was, or None.

    Kernels it forked for running commands finish first. A Jupyter server's
    templates are not the command line's to stop: its announcement is
    returned untouched.
    """
    found = announced(state_dir)
    if found is None or not found["keeper"]:
        return found
    with contextlib.suppress(OSError, ValueError):  # it was leaving anyway
        warm.request(
            os.path.join(found["folder"], warm.KEEPER_SOCKET), {"op": "stop"}, 10
        )
    deadline = time.monotonic() + timeout
    while process_running(found["pid"]):
        if time.monotonic() > deadline:
            raise KeeperError(
                f"the warm keeper {found['pid']} is still running kernels",
                hint=f"wait for them, or kill {found['pid']}",
            )
        time.sleep(0.05)
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
