"""The warm kernel template ("zygote"): a process that forks ready-made kernels.

Run as ``python -m nbprod.run.zygote SOCKET PRELOAD_JSON`` by
:mod:`nbprod.run.warm`, never imported into a worker or a kernel. It starts as
a fresh interpreter (so it has no threads, event loop or ZMQ sockets to
inherit), imports ipykernel and the notebook's third-party modules once, then
answers requests on a Unix socket, one JSON line each:

``{"op": "ping"}``
    its pid, thread count, environment fingerprint and what it preloaded;
``{"op": "fork", "argv": [...], "env": {...}, "cwd": "...", "driver": pid}``
    forks a child that becomes a new IPython kernel on the connection file in
    ``argv``, with the run's cwd and environment, and replies with its pid (or
    refuses, with the reason, when forking would not be safe); the kernel's
    process group is killed when its driver (the process running the notebook,
    by default the template's parent) is gone, so a template shared by the
    Jupyter server's job workers leaves nothing behind a killed worker;
``{"op": "stop"}``
    stops accepting, and exits once the kernels it forked have ended.

The template only uses the standard library until it preloads, and stays
single-threaded: a fork copies only the forking thread, so a template with
threads could hand a kernel a lock held forever.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import sysconfig
import time
import traceback
from typing import Any

#: environment variables that pin BLAS/OpenMP thread pools while preloading
THREAD_PINS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)

#: what every kernel imports by the end of its first cell (its debugger, sqlite3
#: for the history, pdb, tornado's loop, ...: a fresh kernel's sys.modules
#: against the template's), so a fork skips all that
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython",
    "IPython.core.debugger",
    "IPython.core.completerlib",
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "jupyter_client.session",
    "tornado.platform.asyncio",
    "comm",
    "psutil",
    "faulthandler",
    "resource",
    "runpy",
    "sqlite3",
    "pdb",
    "setproctitle",
)


def thread_count() -> int:
    """The number of threads of this process (every OS thread, not only Python's)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux
        import threading

        return threading.active_count()


def environment_fingerprint(path: list[str]) -> list[Any]:
    """What decides which code an import finds: the path entries, and the mtimes
    of the folders packages are installed into.

    Installing or removing a package changes its site-packages folder's mtime
    (and so does adding a module to a ``PYTHONPATH`` folder); an added ``.pth``
    file or a changed ``PYTHONPATH`` changes the entries. Other entries (the
    project folder an editable install puts on the path, the working folder)
    count by name only: files come and go there all the time (a history, a
    cache), and the project's own modules are never preloaded.
    """
    watched = {
        os.path.realpath(entry)
        for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if entry
    }
    found: list[Any] = []
    for entry in path:
        real = os.path.realpath(entry or ".")
        if real not in watched and not real.endswith(
            ("site-packages", "dist-packages")
        ):
            found.append([entry, None])
            continue
        try:
            found.append([entry, os.stat(real).st_mtime_ns])
        except OSError:
            found.append([entry, None])
    return found


def _library_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs.update(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    return sorted(os.path.realpath(d) for d in dirs if d)


def _is_installed(module: str, library: list[str]) -> bool:
    """True for a module of the standard library or an installed distribution.

    The project's own code (its folder, an editable install pointing into
    ``src/``) is never preloaded: a kernel forked later must see its edits.
    """
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.origin in ("built-in", "frozen"):
        return True
    where = spec.origin or next(iter(spec.submodule_search_locations or []), None)
    if not where:
        return False
    real = os.path.realpath(where)
    return any(real.startswith(folder + os.sep) for folder in library)


def preload(modules: list[str], forced: list[str]) -> tuple[list[str], dict[str, str]]:
    """Import the kernel's modules, the notebook's installed ones and ``forced``.

    Returns the modules imported and, per module skipped, why.
    """
    library = _library_dirs()
    done: list[str] = []
    skipped: dict[str, str] = {}
    for name in [*KERNEL_MODULES, *forced, *modules]:
        if name in done or name in skipped:
            continue
        wanted = name in forced or name in KERNEL_MODULES
        if not wanted and not _is_installed(name, library):
            skipped[name] = "not an installed package"
            continue
        try:
            importlib.import_module(name)
        except BaseException as exc:
            skipped[name] = f"{type(exc).__name__}: {exc}"[:200]
            continue
        done.append(name)
        if thread_count() > 1:
            # a module that starts threads at import poisons the template;
            # report it rather than import more
            skipped[name] = "started a thread at import"
            break
    return done, skipped


class Template:
    """The template's state: its socket, preloaded modules and forked kernels."""

    def __init__(self, socket_path: str, modules: list[str], forced: list[str]):
        self.parent = os.getppid()
        self.socket_path = socket_path
        self.pinned = [v for v in THREAD_PINS if os.environ.get("NBPROD_PINNED_" + v)]
        self.preloaded, self.skipped = preload(modules, forced)
        self.sys_path = list(sys.path)
        self.fingerprint = environment_fingerprint(self.sys_path)
        #: forked kernels and the pid of the process driving each
        self.children: dict[int, int] = {}
        self.forks = 0
        self.accepting = True
        # children are reaped by the kernel as they exit (each kernel resets
        # this to the default first thing, so its own subprocesses work)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # a predecessor killed outright leaves its socket file behind
        self._unlink()
        self.listener.bind(socket_path)
        self.listener.listen(16)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self.kill_children()
        self._unlink()
        os._exit(0)

    def _unlink(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)

    def live_children(self) -> set[int]:
        self.children = {
            pid: driver for pid, driver in self.children.items() if pid_exists(pid)
        }
        return set(self.children)

    def kill_orphans(self) -> None:
        """Kill the kernels whose driver died (a worker killed with SIGKILL)."""
        for pid, driver in list(self.children.items()):
            if driver != self.parent and not pid_exists(driver):
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)

    def kill_children(self) -> None:
        for pid in self.live_children():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)

    def describe(self) -> dict[str, Any]:
        return {
            "ok": True,
            "pid": os.getpid(),
            "threads": thread_count(),
            "python": sys.executable,
            "preloaded": self.preloaded,
            "skipped": self.skipped,
            "children": sorted(self.live_children()),
            "forks": self.forks,
            "refusal": self.refusal(),
        }

    def refusal(self) -> str | None:
        """Why forking now would not give a clean kernel, or None."""
        threads = thread_count()
        if threads > 1:
            return f"the template has {threads} threads"
        if environment_fingerprint(self.sys_path) != self.fingerprint:
            return "the Python environment changed since the template started"
        return None

    def serve(self) -> None:
        while True:
            if os.getppid() != self.parent:
                # whoever drove these kernels is gone
                self.kill_children()
                self._unlink()
                return
            self.kill_orphans()
            if not self.accepting:
                if not self.live_children():
                    return
                time.sleep(0.5)
                continue
            ready, _, _ = select.select([self.listener], [], [], 0.5)
            if not ready:
                continue
            conn, _ = self.listener.accept()
            try:
                self.answer(conn)
            except (OSError, ValueError):
                pass  # a client that hung up or sent garbage: the next one
            finally:
                conn.close()

    def answer(self, conn: socket.socket) -> None:
        request = read_request(conn)
        if request is None:
            return
        op = request.get("op")
        if op == "ping":
            reply = self.describe()
        elif op == "stop":
            self.accepting = False
            self._unlink()
            reply = {"ok": True}
        elif op == "fork":
            reason = self.refusal()
            if reason:
                reply = {"ok": False, "reason": reason}
            else:
                reply = {"ok": True, "pid": self.fork(conn, request)}
        else:
            reply = {"ok": False, "reason": f"unknown request {op!r}"}
        conn.sendall(json.dumps(reply).encode() + b"\n")

    def fork(self, conn: socket.socket, request: dict[str, Any]) -> int:
        # objects made so far move to a generation the collector never
        # scans, so the kernel's collections do not touch (and copy) the
        # template's pages
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                conn.close()
                self.listener.close()
                code = become_kernel(request, self.sys_path, self.pinned)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        driver = request.get("driver")
        self.children[pid] = driver if isinstance(driver, int) else self.parent
        self.forks += 1
        return pid


def read_request(conn: socket.socket) -> dict[str, Any] | None:
    """The one JSON line a client sends on a control socket (None: it hung up).

    Raises
    ------
    OSError
        When it sends nothing for 10 s.
    ValueError
        When the line is not a JSON object.
    """
    conn.settimeout(10)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    request = json.loads(data)
    if not isinstance(request, dict):
        # a list or a bare string would fail later, outside the callers' guard
        raise ValueError(f"a request is a JSON object, not {type(request).__name__}")
    return request


def pid_exists(pid: int) -> bool:
    """True while process ``pid`` exists (a zombie included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_running(pid: int) -> bool:
    """True while process ``pid`` runs: a zombie (exited, not yet reaped) has ended."""
    if not pid_exists(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except OSError:
        return False  # gone between the two looks


def _release_inherited_fds() -> None:
    # Point every inherited descriptor (sockets and pipes of the template's
    # own, whatever a preloaded library opened) at /dev/null rather than
    # closing it: a Python object that still owns the number would otherwise
    # close a descriptor the kernel opened later under the same number.
    null = os.open(os.devnull, os.O_RDWR)
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return
    for name in names:
        fd = int(name)
        if fd > 2 and fd != null:
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
    os.close(null)


def _reseed() -> None:
    import random

    random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        # the legacy global RandomState: a fresh process seeds it from the OS
        numpy_random.seed()


def _restore_thread_pools(env: dict[str, str], pinned: list[str]) -> None:
    """Give BLAS/OpenMP the thread count a fresh kernel with this env would have."""
    if not pinned or not any(
        name in sys.modules for name in ("numpy", "scipy", "sklearn", "torch")
    ):
        return
    wanted = None
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if env.get(var, "").isdigit():
            wanted = int(env[var])
            break
    if wanted is None:
        try:
            wanted = len(os.sched_getaffinity(0))
        except AttributeError:
            wanted = os.cpu_count() or 1
    if wanted <= 1:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=wanted)


def _retitle(argv: list[str]) -> None:
    # ps, psutil and tools looking for kernels see what a normal start shows
    try:
        from setproctitle import setproctitle
    except ImportError:
        return
    setproctitle(" ".join(argv))


def become_kernel(
    request: dict[str, Any], sys_path: list[str], pinned: list[str]
) -> int:
    """In the forked child: turn into a fresh IPython kernel for one run."""
    os.setsid()  # its own session and process group, as jupyter_client gives
    # before the environment changes: setproctitle moves it to make room
    _retitle([sys.executable, "-m", "ipykernel_launcher", *request["argv"]])
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _release_inherited_fds()
    env = dict(request["env"])
    os.environ.clear()
    os.environ.update(env)
    cwd = request.get("cwd")
    if cwd:
        os.chdir(cwd)
    sys.path[:] = sys_path
    _reseed()
    _restore_thread_pools(env, pinned)
    argv = list(request["argv"])
    if env.get("JPY_PARENT_PID", "").isdigit():
        # ipykernel reads it into a class default at import, i.e. in the
        # template: hand it over explicitly
        argv.append(f"--IPKernelApp.parent_handle={env['JPY_PARENT_PID']}")
    sys.argv = ["ipykernel_launcher", *argv]
    from ipykernel import kernelapp

    code = 0
    try:
        kernelapp.launch_new_instance(argv=argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    # end as `python -m ipykernel_launcher` would: exit handlers, flushed output
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    return code


def main(argv: list[str]) -> int:
    """Start a template on the socket ``argv[0]``; ``argv[1]`` is a JSON object."""
    # like ipykernel_launcher: the launch folder is not on the kernel's path
    # (IPython puts the kernel's own cwd back)
    if sys.path and (sys.path[0] in ("", os.getcwd())):
        del sys.path[0]
    options = json.loads(argv[1])
    template = Template(argv[0], options.get("modules", []), options.get("forced", []))
    template.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
