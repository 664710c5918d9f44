"""Shared pieces of the widgets: the project of a notebook, the poller, tables."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from nbprod.config import ProjectConfig, find_project_root, load_config

#: seconds between two looks at the history while work is going on
POLL_SECONDS = 1.0


def project_of(notebook: Path | str | None) -> ProjectConfig:
    """The project of ``notebook`` (else of the working folder), as the CLI finds it."""
    if notebook is not None:
        root = find_project_root(Path(notebook))
        if root is not None:
            return load_config(root)
    return load_config(Path.cwd())


class Poller:
    """Calls ``tick`` every ``interval`` seconds on a daemon thread until it returns False.

    The kernel's own thread is never blocked: a widget's callbacks return at
    once and the history is read here. :meth:`stop` (called when the widget is
    closed) ends the thread at its next wake-up.
    """

    def __init__(
        self, tick: Callable[[], bool], interval: float = POLL_SECONDS
    ) -> None:
        self._tick = tick
        self._interval = interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the thread is polling."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start polling, unless a thread already polls."""
        if self.running:
            return
        self._stopped.clear()
        self._thread = threading.Thread(
            target=self._loop, daemon=True, name="nbprod-poll"
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (the thread ends at its next wake-up)."""
        self._stopped.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (for tests and for closing)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                again = self._tick()
            except Exception:  # a widget must never take its kernel down
                again = False
            if not again:
                return
            self._stopped.wait(self._interval)


def html_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, raw: Sequence[int] = ()
) -> str:
    """An HTML table; cells are escaped except the columns listed in ``raw``."""
    pad = 'style="padding:2px 10px 2px 0;text-align:left;vertical-align:top"'
    head = "".join(f"<th {pad}>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f"<td {pad}>{cell if i in raw else html.escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        '<table class="nbprod-table" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def message(text: str, kind: str = "info") -> str:
    """A one-line message as HTML (``info``, ``error`` or ``ok``)."""
    colour = {"error": "#c62828", "ok": "#2e7d32"}.get(kind, "inherit")
    return f'<span style="color:{colour}">{html.escape(text)}</span>'
