"""Warm kernels: runs start on a kernel forked from a template that preloaded imports.

A run of a real notebook spends most of its time starting: a fresh
interpreter, ipykernel, and the notebook's ``import pandas, sklearn``. Each
process that executes runs (a local worker, a Dask worker, the CLI) keeps a
template per environment (:mod:`nbprod.run.zygote`, started as a fresh
process) that has imported all that once; a run's kernel is a fork of it, with
fresh globals, the run's cwd and environment, its own process group and
reseeded random generators. It is still one new process per run: nothing a
run does reaches the template or the next run.

A process can share its templates with the processes it starts: the Jupyter
server calls :func:`share_templates` and hands the folder to its job workers
in ``NBPROD_WARM_TEMPLATES``; a worker then forks its kernels from the
server's template for the notebook's imports (started when the notebook was
opened), so the Run button pays neither an interpreter nor ``import pandas``.
The template kills a kernel whose driver died, and a worker that finds no
usable shared template starts its own.

:class:`WarmProvisioner` plugs this into jupyter_client, so papermill and
nbclient drive the forked kernel like any other (interrupt, timeout,
shutdown, death detection). Whenever a template cannot be used safely (it
has threads, the kernel is another Python, the environment changed, it died)
the kernel is started the normal way, and the reason is logged.
"""

from __future__ import annotations

import ast
import asyncio
import atexit
import contextlib
import functools
import hashlib
import inspect
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nbprod.errors import NotebookError
from nbprod.files import write_atomic
from nbprod.notebook.reader import parse_notebook
from nbprod.run.zygote import THREAD_PINS, pid_exists, process_running

log = logging.getLogger("nbprod.run.warm")

#: seconds a template may take to import everything
TEMPLATE_START_TIMEOUT = 120.0

#: the folder where a process that shares its templates publishes them
SHARED_ENV = "NBPROD_WARM_TEMPLATES"


class TemplateRefused(Exception):
    """The template cannot fork this kernel safely; ``str(exc)`` says why."""


def code_cells(text: str) -> list[str]:
    """The code cells' sources of a notebook's JSON text (empty when unreadable).

    Read as an export's plan reads it, without nbformat for a well-formed
    notebook: a template is started before anything heavy is imported. A
    notebook that cannot be read is the run's to report, not the template's.
    """
    try:
        nb = parse_notebook(text, "", require_code=False, for_reading=True)
    except NotebookError:
        return []
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def notebook_imports(cells: Iterable[str]) -> tuple[str, ...]:
    """The absolute modules a notebook's code cells import, in order of appearance.

    ``from a.b import c`` gives ``a.b``; cells with IPython syntax are read
    with it blanked out, cells that do not parse are skipped.
    """
    from nbprod.notebook.ipython import make_plain

    found: dict[str, None] = {}
    for source in cells:
        plain = make_plain(source)
        if plain.syntax_error:
            continue
        try:
            tree = ast.parse(plain.code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((alias.name, None) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found[node.module] = None
    return tuple(found)


def _same_python(executable: str) -> bool:
    """True when ``executable`` is this interpreter (same venv, same binary)."""
    try:
        return os.path.dirname(os.path.abspath(executable)) == os.path.dirname(
            os.path.abspath(sys.executable)
        ) and os.path.samefile(executable, sys.executable)
    except OSError:
        return False


def _template_key(preload: tuple[str, ...], forced: tuple[str, ...]) -> tuple[Any, ...]:
    # what decides what a template imported: the interpreter (its environment
    # and binary: a venv's `python` and `python3` are one), the modules and the
    # environment variables Python reads at start
    python_env = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.startswith("PYTHON"))
    )
    interpreter = (sys.prefix, os.path.realpath(sys.executable))
    return (interpreter, preload, forced, python_env)


def request(
    socket_path: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """Send one JSON request line to a template's or keeper's socket; its reply.

    Raises
    ------
    OSError
        When nobody answers on the socket in time.
    ValueError
        When the reply is not JSON.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(socket_path)
        conn.sendall(json.dumps(payload).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError(f"{socket_path} closed the connection")
            data += chunk
    reply: dict[str, Any] = json.loads(data)
    return reply


class _TemplateClient:
    """Talks to a template over its control socket: ping, fork, stop."""

    modules: tuple[str, ...]
    forced: tuple[str, ...]
    socket_path: str
    info: dict[str, Any] | None
    _lock: threading.Lock

    @property
    def pid(self) -> int:
        raise NotImplementedError

    def alive(self) -> bool:
        raise NotImplementedError

    def _request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        return request(self.socket_path, payload, timeout)

    def ping(self) -> dict[str, Any]:
        """What the template says of itself now (children, forks, refusal)."""
        return self._request({"op": "ping"}, 10)

    def wait_ready(self, timeout: float = TEMPLATE_START_TIMEOUT) -> dict[str, Any]:
        """Wait until the template answers; return what it preloaded.

        Raises
        ------
        TemplateRefused
            When it died or did not answer in time.
        """
        if self.info is not None:
            return self.info
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise TemplateRefused(self._death())
            if os.path.exists(self.socket_path):
                try:
                    self.info = self.ping()
                    log.info(
                        "warm template %s preloaded %s; skipped %s",
                        self.pid,
                        ", ".join(self.info["preloaded"]),
                        self.info["skipped"] or "nothing",
                    )
                    return self.info
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise TemplateRefused("the template did not start in time")
            time.sleep(0.01)

    def _death(self) -> str:
        return "the template exited"

    def fork(self, argv: list[str], env: dict[str, str], cwd: str | None) -> int:
        """Fork a kernel driven by this process; return its pid.

        Raises
        ------
        TemplateRefused
            When the template refuses or is gone.
        """
        request: dict[str, Any] = {"op": "fork", "argv": argv, "env": env}
        # the template kills the kernel if this process dies first
        request.update(cwd=cwd, driver=os.getpid())
        with self._lock:
            self.wait_ready()
            try:
                reply = self._request(request, 30)
            except (OSError, ValueError) as exc:
                raise TemplateRefused(f"the template did not answer: {exc}") from None
        if not reply.get("ok"):
            raise TemplateRefused(str(reply.get("reason")))
        return int(reply["pid"])

    def stop(self) -> None:
        """Stop using the template (an owner stops it once its kernels ended)."""

    def kill(self) -> None:
        """Stop the template and every kernel it forked, now (an owner only)."""


class Template(_TemplateClient):
    """A template process this process started, and its control socket.

    Parameters
    ----------
    modules : tuple of str
        The notebook's imports; the template preloads the installed ones.
    forced : tuple of str
        ``[tool.nbprod.run] preload``: imported whatever they are.
    socket_path : str, optional
        Where its socket goes (a shared template's published name); by
        default a new name in the temporary folder.
    """

    def __init__(
        self,
        modules: tuple[str, ...],
        forced: tuple[str, ...],
        socket_path: str | None = None,
    ) -> None:
        self.modules = modules
        self.forced = forced
        if socket_path is None:
            socket_path = os.path.join(
                _socket_folder(), f"nbprod-tpl-{uuid.uuid4().hex[:12]}.sock"
            )
        self.socket_path = socket_path
        env = dict(os.environ)
        env.pop(SHARED_ENV, None)  # its kernels do not share their parent's templates
        # the kernel sets this itself before anything imports matplotlib;
        # a preloaded matplotlib must see it too
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        # debugpy (preloaded with ipykernel) warns on stderr, in the user's
        # terminal, that frozen modules may hide breakpoints: nobody attaches
        # a debugger to a papermill run
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        for var in THREAD_PINS:
            if var not in env:
                env[var] = "1"
                env["NBPROD_PINNED_" + var] = "1"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nbprod.run.zygote",
                self.socket_path,
                json.dumps({"modules": list(modules), "forced": list(forced)}),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
            # Ctrl-C in a terminal goes to the driver, which decides
            start_new_session=True,
        )
        self.info: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def _death(self) -> str:
        return f"the template exited with code {self.process.returncode}"

    def stop(self) -> None:
        """Stop the template once the kernels it forked have ended."""
        if not self.alive():
            return
        try:
            self._request({"op": "stop"}, 5)
        except (OSError, ValueError):
            self.kill()

    def kill(self) -> None:
        """Stop the template and every kernel it forked, now."""
        if self.alive():
            with contextlib.suppress(OSError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for path in (self.socket_path, _pid_path(self.socket_path)):
            with contextlib.suppress(OSError):
                os.unlink(path)


class SharedTemplate(_TemplateClient):
    """A template another process (the Jupyter server) started and published.

    This process only forks from it: it never stops or restarts it.
    """

    def __init__(
        self, modules: tuple[str, ...], forced: tuple[str, ...], socket_path: str
    ) -> None:
        self.modules = modules
        self.forced = forced
        self.socket_path = socket_path
        self.info = None
        self._lock = threading.Lock()
        try:
            with open(_pid_path(socket_path)) as file:
                self._pid = int(file.read())
        except (OSError, ValueError):
            self._pid = 0

    @property
    def pid(self) -> int:
        return self._pid

    def alive(self) -> bool:
        return self._pid > 0 and pid_exists(self._pid)

    def _death(self) -> str:
        return f"the shared template {self._pid} is gone"


def _socket_folder() -> str:
    folder = tempfile.gettempdir()
    # Unix socket paths are limited to ~107 bytes
    return folder if len(folder) <= 70 else "/tmp"


def _pid_path(socket_path: str) -> str:
    return socket_path[: -len(".sock")] + ".pid"


def _published_name(key: tuple[Any, ...]) -> str:
    digest = hashlib.sha1(json.dumps(key).encode(), usedforsecurity=False)
    return digest.hexdigest()[:16] + ".sock"


def template_name(modules: tuple[str, ...], forced: tuple[str, ...] = ()) -> str:
    """The socket name a shared template for these imports is published under.

    It depends on the interpreter and the ``PYTHON*`` variables too, so two
    processes agree on it only when a template of one serves the other.
    """
    return _published_name(_template_key(modules, forced))


_TEMPLATES: dict[tuple[Any, ...], _TemplateClient] = {}
_TEMPLATES_LOCK = threading.Lock()
_OWNER_PID = os.getpid()
#: the folder this process publishes its templates in (share_templates)
_PUBLISHING: str | None = None


def share_templates() -> str:
    """Publish this process's templates for the processes it starts; return the folder.

    Give the folder to them in ``NBPROD_WARM_TEMPLATES``: their runs then fork
    from these templates instead of starting their own. Templates already
    running stay private.
    """
    global _PUBLISHING
    with _TEMPLATES_LOCK:
        if _PUBLISHING is None or not os.path.isdir(_PUBLISHING):
            _PUBLISHING = tempfile.mkdtemp(prefix="nbprod-warm-", dir=_socket_folder())
        return _PUBLISHING


def stop_sharing() -> None:
    """Stop every template of this process and publish no more (the server stops)."""
    global _PUBLISHING
    stop_templates()
    with _TEMPLATES_LOCK:
        folder, _PUBLISHING = _PUBLISHING, None
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _new_template(
    key: tuple[Any, ...],
    modules: tuple[str, ...],
    forced: tuple[str, ...],
    shared: str | None = None,
) -> _TemplateClient:
    """A published template when this process shares them, else one published in
    ``shared`` (or ``NBPROD_WARM_TEMPLATES``) by another process, else a private one."""
    if _PUBLISHING is not None:
        path = os.path.join(_PUBLISHING, _published_name(key))
        template = Template(modules, forced, socket_path=path)
        write_atomic(Path(_pid_path(path)), str(template.pid))
        return template
    folder = shared or os.environ.get(SHARED_ENV)
    if folder:
        found = SharedTemplate(
            modules, forced, os.path.join(folder, _published_name(key))
        )
        if found.alive():
            return found
    return Template(modules, forced)


def get_template(
    modules: tuple[str, ...], forced: tuple[str, ...] = (), shared: str | None = None
) -> _TemplateClient:
    """The template for these imports: a shared one, else this process's own.

    Started (as a fresh process) when missing; a template that died is replaced.
    ``shared`` is a folder another process published its templates in.
    """
    key = _template_key(modules, forced)
    with _TEMPLATES_LOCK:
        _forget_inherited()
        template = _TEMPLATES.get(key)
        if template is not None and not template.alive():
            log.warning(
                "warm template %s died (%s); starting a new one",
                template.pid,
                template._death(),
            )
            template = None
        if template is None:
            template = _TEMPLATES[key] = _new_template(key, modules, forced, shared)
        return template


def restart_template(template: _TemplateClient) -> None:
    """Replace a template (the environment changed): the old one ends with its kernels.

    A shared template is not this process's to restart: it is replaced by a
    private one (its owner restarts it when it next looks).
    """
    # first: a published template gives its socket name up as it stops
    template.stop()
    with _TEMPLATES_LOCK:
        for key, value in list(_TEMPLATES.items()):
            if value is template:
                _TEMPLATES[key] = (
                    Template(template.modules, template.forced)
                    if isinstance(template, SharedTemplate)
                    else _new_template(key, template.modules, template.forced)
                )


def retire_template(template: _TemplateClient) -> None:
    """Forget a template and stop it once its kernels have ended."""
    with _TEMPLATES_LOCK:
        for key, value in list(_TEMPLATES.items()):
            if value is template:
                del _TEMPLATES[key]
    template.stop()


def _forget_inherited() -> None:
    # a process forked from one that had templates (a pool worker) does not
    # own them
    global _OWNER_PID, _PUBLISHING
    if os.getpid() != _OWNER_PID:
        _TEMPLATES.clear()
        _PUBLISHING = None
        _OWNER_PID = os.getpid()


def templates() -> list[_TemplateClient]:
    """The templates of this process."""
    with _TEMPLATES_LOCK:
        _forget_inherited()
        return list(_TEMPLATES.values())


def stop_templates() -> None:
    """Stop every template of this process and the kernels they forked."""
    with _TEMPLATES_LOCK:
        _forget_inherited()
        found = list(_TEMPLATES.values())
        _TEMPLATES.clear()
    for template in found:
        template.kill()


atexit.register(stop_templates)


#: the file in a project's state folder naming the templates a Jupyter server
#: or a warm keeper (:mod:`nbprod.run.keeper`) shares
ANNOUNCEMENT = "warm-templates.json"

#: a keeper's control socket in the folder it shares its templates in
KEEPER_SOCKET = "keeper.sock"


def announce(state_dir: Path) -> None:
    """Tell the project's command-line runs where this process shares its templates.

    The Jupyter server calls this after :func:`share_templates`: a ``nbprod
    run`` or ``nbprod batch`` in a terminal beside it then forks its kernels
    from the server's templates (:func:`adopt_announced`).
    """
    if _PUBLISHING is not None:
        write_atomic(
            state_dir / ANNOUNCEMENT,
            json.dumps({"folder": _PUBLISHING, "pid": os.getpid()}),
        )


def read_announcement(state_dir: Path) -> tuple[str, int] | None:
    """The folder and pid the project's announcement names, when safe to follow.

    Only a folder of this user's, closed to others, whose announcing process
    still runs counts; anything else (nothing announced, a dead or exited
    announcer, a garbled file) is None.
    """
    try:
        announced = json.loads((state_dir / ANNOUNCEMENT).read_text("utf-8"))
        folder, pid = str(announced["folder"]), int(announced["pid"])
        info = os.stat(folder)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not process_running(pid):
        return None
    return folder, pid


def withdraw(state_dir: Path) -> None:
    """Remove this process's announcement (the server or keeper stops)."""
    found = read_announcement(state_dir)
    if found is not None and found[1] == os.getpid():
        with contextlib.suppress(OSError):
            (state_dir / ANNOUNCEMENT).unlink()


def adopt_announced(state_dir: Path) -> str | None:
    """Use the templates a Jupyter server or keeper of the project shares; their folder.

    The folder of :func:`read_announcement` is taken (``NBPROD_WARM_TEMPLATES``
    is set to it, for this process and the workers it starts); a process
    given a folder already keeps it.
    """
    if os.environ.get(SHARED_ENV):
        return os.environ[SHARED_ENV]
    found = read_announcement(state_dir)
    if found is None:
        return None
    os.environ[SHARED_ENV] = found[0]
    return found[0]


def shared_template_alive(
    folder: str, modules: tuple[str, ...], forced: tuple[str, ...] = ()
) -> bool:
    """True when ``folder`` holds a live template for these imports."""
    name = template_name(modules, forced)
    return SharedTemplate(modules, forced, os.path.join(folder, name)).alive()


def ask_keeper(
    folder: str, modules: tuple[str, ...], forced: tuple[str, ...] = ()
) -> bool:
    """Ask the keeper sharing ``folder`` to keep a template for these imports.

    True when it does (it starts one that is missing); False when ``folder``
    is a Jupyter server's (no keeper socket), or the keeper refused (it is
    stopping, or this command runs another environment): the command then
    starts its own template.
    """
    path = os.path.join(folder, KEEPER_SOCKET)
    if not os.path.exists(path):
        return False
    payload = {
        "op": "keep",
        "modules": list(modules),
        "forced": list(forced),
        "name": template_name(modules, forced),
    }
    try:
        reply = request(path, payload, 30)
    except (OSError, ValueError) as exc:
        reply = {"ok": False, "reason": f"it did not answer: {exc}"}
    if not reply.get("ok"):
        log.warning(
            "the warm keeper refused (%s): this command starts its own template",
            reply.get("reason"),
        )
    return bool(reply.get("ok"))


def prestart(notebook: Path, forced: tuple[str, ...] = (), share: bool = False) -> bool:
    """Start the template for ``notebook``'s imports now, before the caller's own imports.

    The command line calls this first thing, so the template's ``import
    pandas`` runs beside its own start (papermill, the history, the workers)
    instead of after it. The template is the one the run or batch asks for
    later (same imports); ``share`` publishes it for a batch's workers. A
    notebook that cannot be read is left to the run itself to report.

    Parameters
    ----------
    notebook : Path
        The ``.ipynb`` file.
    forced : tuple of str
        ``[tool.nbprod.run] preload``.
    share : bool
        Publish it (:func:`share_templates`) for the processes this one starts.

    Returns
    -------
    bool
        True while the notebook's template is still importing (this
        process's, or a shared one); False when a ready shared template
        serves it, or the notebook cannot be read.
    """
    try:
        text = notebook.read_text("utf-8")
    except (OSError, ValueError):
        return False
    modules = notebook_imports(code_cells(text))
    server = os.environ.get(SHARED_ENV)
    if server:
        ask_keeper(server, modules, forced)  # a keeper starts what is missing
        if shared_template_alive(server, modules, forced):
            # the run forks from the server's (or the keeper's) template,
            # which may still be importing
            name = os.path.join(server, template_name(modules, forced))
            return not os.path.exists(name)
    if share:
        share_templates()
    template = get_template(modules, forced)
    return not os.path.exists(template.socket_path)  # not ready yet


class ForkedKernel:
    """A ``Popen``-like handle on a kernel forked by a template (not our child)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        # reaped by its template as soon as it exits (exit status unknown); a
        # zombie between exit and reaping counts as gone
        if self.returncode is None and not process_running(self.pid):
            self.returncode = -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


@functools.cache
def provisioner_class() -> type:
    """jupyter_client's local provisioner, starting kernels from a template when it can."""
    from jupyter_client.provisioning import LocalProvisioner

    class WarmProvisioner(LocalProvisioner):
        """Starts the kernel as a fork of this process's template, else normally."""

        #: how the last kernel started: "warm", or "normal: <reason>"
        start_mode = "normal"

        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            km = self.parent
            modules = tuple(getattr(km, "warm_modules", ()) or ())
            forced = tuple(getattr(km, "warm_forced", ()) or ())
            shared = getattr(km, "warm_shared", None)
            reason = self._refusal(cmd, kwargs)
            if reason is None:
                template = get_template(modules, forced, shared)
                env = dict(kwargs.get("env") or os.environ)
                # what jupyter_client's launcher tells a kernel about its parent
                env.setdefault("JPY_PARENT_PID", str(os.getpid()))
                cwd = kwargs.get("cwd")
                try:
                    pid = template.fork(cmd[3:], env, str(cwd) if cwd else None)
                except TemplateRefused as exc:
                    reason = str(exc)
                    if "environment changed" in reason:
                        restart_template(template)
                    elif not template.alive():
                        get_template(modules, forced, shared)  # its replacement, now
                else:
                    self.process = ForkedKernel(pid)  # type: ignore[assignment]
                    self.pid = self.pgid = pid
                    self.cwd = cwd
                    self.start_mode = "warm"
                    record_start("warm")
                    log.debug("kernel %s forked from template %s", pid, template.pid)
                    return self.connection_info
            self.start_mode = f"normal: {reason}"
            record_start(self.start_mode)
            log.warning("warm kernel refused (%s): starting a normal kernel", reason)
            return await super().launch_kernel(cmd, **kwargs)

        async def wait(self) -> int | None:
            # jupyter_client polls a dying kernel every 0.1 s; a forked kernel
            # is gone (reaped by its template) within milliseconds of SIGKILL,
            # and every run of a batch ends with one
            process = self.process
            if isinstance(process, ForkedKernel):
                while process.poll() is None:
                    await asyncio.sleep(0.005)
            result: int | None = await super().wait()
            return result

        @staticmethod
        def _refusal(cmd: list[str], kwargs: dict[str, Any]) -> str | None:
            if len(cmd) < 3 or cmd[1:3] != ["-m", "ipykernel_launcher"]:
                return f"the kernel is not ipykernel: {' '.join(cmd[:3])}"
            if not _same_python(cmd[0]):
                return f"the kernel's Python {cmd[0]} is not the project's {sys.executable}"
            env = kwargs.get("env") or os.environ
            for name, value in _template_key((), ())[3]:
                if env.get(name) != value:
                    return f"the kernel's {name} differs from the template's"
            return None

    return WarmProvisioner


_LAST_START = threading.local()


def record_start(mode: str) -> None:
    """Remember how this thread's last kernel started (read by execute_run)."""
    _LAST_START.mode = mode


def last_start() -> str | None:
    """How this thread's last kernel started: ``warm``, ``normal: <reason>``, or None."""
    return getattr(_LAST_START, "mode", None)


def clear_last_start() -> None:
    """Forget the last start (before a run)."""
    _LAST_START.mode = None


@functools.cache
def kernel_manager_class(
    base: type,
    modules: tuple[str, ...],
    forced: tuple[str, ...],
    shared: str | None = None,
) -> type:
    """A subclass of the kernel manager ``base`` starting its kernels warm."""
    provisioner = provisioner_class()

    async def _async_pre_start_kernel(self: Any, **kw: Any) -> Any:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = provisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await base._async_pre_start_kernel(self, **kw)  # type: ignore[attr-defined]

    async def _async_wait(self: Any, pollinterval: float = 0.1) -> None:
        # after the SIGKILL that ends every run, jupyter_client checks every
        # 0.1 s whether the kernel is gone; a forked one is within milliseconds
        await base._async_wait(self, pollinterval=min(pollinterval, 0.005))  # type: ignore[attr-defined]

    members: dict[str, Any] = {
        "warm_modules": modules,
        "warm_forced": forced,
        "warm_shared": shared,
        "_async_pre_start_kernel": _async_pre_start_kernel,
        "_async_wait": _async_wait,
    }
    if inspect.iscoroutinefunction(getattr(base, "pre_start_kernel", None)):  # async
        members["pre_start_kernel"] = _async_pre_start_kernel
    return type("Warm" + base.__name__, (base,), members)


def dask_worker_plugin() -> Any:
    """A Dask worker plugin that stops the worker's templates when the worker closes.

    A Dask worker starts its template lazily, at its first run, as a fresh
    process (never forked from the worker, which has threads and an event
    loop); the plugin makes sure the template and its kernels end with it.
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class WarmTemplates(WorkerPlugin):
        """Stops nbprod's warm templates with the worker."""

        name = "nbprod-warm-templates"

        def teardown(self, worker: Any) -> None:
            stop_templates()

    return WarmTemplates()
