"""The server's warm templates: one per notebook environment, shared with job workers.

When JupyterLab shows a notebook (its plan is asked for) or a run or batch is
started, the server makes sure a template with that notebook's imports is
running (:mod:`nbprod.run.warm`); job workers get the folder the templates are
published in, so the run's kernel is a fork of a template that already
imported pandas and ipykernel, and the Run button starts at once. The server
keeps the few most recently used import sets, and announces the folder in the
project's state folder, so that ``nbprod run`` and ``nbprod batch`` in a
terminal beside JupyterLab fork from the same templates.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from nbprod.config import ProjectConfig
from nbprod.run import warm
from nbprod.run.keeper import KeptTemplates


class WarmTemplates:
    """The server's templates, started ahead of the runs that will fork from them.

    Parameters
    ----------
    config : ProjectConfig
        The project (``[tool.nbprod.run]``: warm_kernels, preload).
    log : logging.Logger
        The server's log.
    """

    def __init__(self, config: ProjectConfig, log: logging.Logger) -> None:
        self.enabled = config.run.warm_kernels
        self.forced = tuple(config.run.preload)
        self.log = log
        self.folder = warm.share_templates() if self.enabled else None
        self.state_dir = config.state_dir
        if self.folder:
            # runs started in a terminal beside JupyterLab fork from them too
            try:
                warm.announce(self.state_dir)
            except OSError as exc:
                log.warning("nbprod: cannot announce the warm templates: %s", exc)
        self.kept = KeptTemplates(self.forced, log)
        #: import sets by notebook and text, so a repeated plan request parses nothing
        self._seen: dict[tuple[str, int], tuple[str, ...]] = {}

    def env(self) -> dict[str, str]:
        """What a job worker's environment needs to find the templates."""
        return {warm.SHARED_ENV: self.folder} if self.folder else {}

    def prewarm(self, path: Path, text: str) -> None:
        """Make sure a template for this notebook's imports runs (blocking: a thread)."""
        if not self.enabled:
            return
        key = (str(path), hash(text))
        modules = self._seen.get(key)
        if modules is None:
            modules = warm.notebook_imports(warm.code_cells(text))
            if len(self._seen) > 256:
                self._seen.clear()
            self._seen[key] = modules
        self.kept.keep(modules)

    def prewarm_soon(self, pool: Executor, path: Path, text: str) -> None:
        """Start :meth:`prewarm` in ``pool`` without waiting for it."""
        if not self.enabled:
            return
        future = pool.submit(self.prewarm, path, text)
        future.add_done_callback(self._report)

    def _report(self, future: Any) -> None:
        error = future.exception()
        if error is not None:
            self.log.warning("nbprod: could not start a warm template: %s", error)

    def templates(self) -> list[Any]:
        """The templates kept warm, least recently used first."""
        return self.kept.templates()

    def stop(self) -> None:
        """Stop every template (and the kernels they forked)."""
        warm.withdraw(self.state_dir)
        warm.stop_sharing()
