"""Run recorded work in a process of its own: ``python -m nbprod.run.detached``.

A front door that must stay responsive (the ipywidgets, which live in a
kernel) records a run or a batch first (:func:`~nbprod.run.single.queue_run`,
:func:`~nbprod.run.batch.create_batch`) and then starts this process, which
executes it through the same core functions as the command line, so the
history, the output notebooks and the executors are the same. SIGTERM stops it
cleanly: a run is recorded cancelled, a batch cancels what has not finished.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.config import ProjectConfig, load_config
from nbprod.errors import NbprodError

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore

#: the kinds of recorded work this process executes
KINDS = ("run", "batch")


def log_path(config: ProjectConfig, target: str) -> Path:
    """The file that keeps what the detached process of ``target`` printed."""
    return config.state_dir / "logs" / f"{target}.log"


def start_detached(
    config: ProjectConfig,
    kind: str,
    target: str,
    *,
    jobs: int | None = None,
    timeout: float | None = None,
) -> subprocess.Popen[bytes]:
    """Start the process that executes a queued run or batch, and return at once.

    Parameters
    ----------
    config : ProjectConfig
        The project the work was recorded in.
    kind : str
        ``"run"`` or ``"batch"``.
    target : str
        The run id or batch id.
    jobs : int, optional
        Runs at once, for a batch.
    timeout : float, optional
        Seconds a cell may run.

    Returns
    -------
    subprocess.Popen
        The process; terminate it to cancel the work.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind of work {kind!r}")
    command = [sys.executable, "-m", "nbprod.run.detached", str(config.root)]
    command += [kind, target]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    log = log_path(config, target)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        # a session of its own: an interrupt of the kernel that started it
        # (the widgets' kernel) must not reach the runs it is watching
        return subprocess.Popen(
            command,
            cwd=config.root,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _execute(
    config: ProjectConfig,
    kind: str,
    target: str,
    jobs: int | None,
    timeout: float | None,
) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        # a batch stops between runs and cancels what runs; a single run
        # unwinds like Ctrl-C, which shuts its kernel down on the way out
        stop.set()
        if kind == "run":
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from nbprod.run.recovery import open_history

    with open_history(config) as store:
        return _execute_in(config, store, kind, target, jobs, timeout, stop)


def _execute_in(
    config: ProjectConfig,
    store: HistoryStore,
    kind: str,
    target: str,
    jobs: int | None,
    timeout: float | None,
    stop: threading.Event,
) -> int:
    from nbprod.history.records import SUCCEEDED

    try:
        if kind == "run":
            from nbprod.run.single import execute_queued_run

            record = execute_queued_run(
                config, store.get_run(target), timeout=timeout, store=store
            )
            return 0 if record.status == SUCCEEDED else 1
        from nbprod.run.batch import resume_batch

        result = resume_batch(
            config, target, jobs=jobs, timeout=timeout, stop=stop, store=store
        )
        return 0 if result.ok else 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # whatever stopped it before or between runs, the work ends failed
        # with the reason, never queued or running for ever
        from nbprod.history.records import FAILED
        from nbprod.run.recovery import end_unfinished

        message = exc.message if isinstance(exc, NbprodError) else str(exc)
        end_unfinished(store, kind, target, FAILED, type(exc).__name__, message)
        raise


def main(argv: list[str] | None = None) -> int:
    """Execute one queued run or batch; the exit code says how it ended."""
    parser = argparse.ArgumentParser(prog="python -m nbprod.run.detached")
    parser.add_argument("root", type=Path)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("target")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--timeout", type=float)
    args = parser.parse_args(argv)
    try:
        config = load_config(args.root)
        return _execute(config, args.kind, args.target, args.jobs, args.timeout)
    except NbprodError as exc:
        # recorded failed with this message; the log keeps the line too
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover - started by start_detached
    sys.exit(main())
