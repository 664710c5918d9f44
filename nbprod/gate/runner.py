"""Running the quality gate: the selected steps in order, timed, and the report kept."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from nbprod.config import ProjectConfig
from nbprod.errors import ConfigError, NbprodError
from nbprod.gate.registry import GateContext, gate_steps
from nbprod.gate.report import FAILED, Finding, GateReport, StepResult
from nbprod.gitops.git import Git
from nbprod.run.recovery import open_history

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore


def require_project(config: ProjectConfig) -> None:
    """Refuse a folder that is not an nbprod project, with what to do about it.

    Raises
    ------
    ConfigError
        When the folder has no ``[tool.nbprod]`` table.
    """
    if not config.configured:
        raise ConfigError(
            f"{config.root} is not an nbprod project (no [tool.nbprod] in pyproject.toml)",
            hint="set the folder up as a project first, or point at the project's folder",
            actions=("init",),
        )


def run_gate(
    config: ProjectConfig,
    *,
    only: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    store: HistoryStore | None = None,
    save: bool = True,
    on_step: Callable[[str, StepResult | None], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> GateReport:
    """Run the quality gate's steps on a project and return the report.

    Every selected step runs, even after one fails, so one report shows
    everything to fix.

    Parameters
    ----------
    config : ProjectConfig
        The project.
    only : tuple of str
        Run only these steps (default: all registered steps).
    skip : tuple of str
        Do not run these steps.
    store : HistoryStore, optional
        The history for smoke runs and the report; default: the project's.
    save : bool
        Store the report in the history.
    on_step : callable, optional
        Called with ``(name, None)`` when a step starts and
        ``(name, result)`` when it ends.
    on_progress : callable, optional
        Called with a short line about what the current step is doing.

    Returns
    -------
    GateReport
        The steps' results; ``report.ok`` says whether the gate passed.

    Raises
    ------
    ConfigError
        When the folder is not an nbprod project.
    NbprodError
        When ``only`` or ``skip`` names a step that does not exist.
    """
    require_project(config)
    names = gate_steps.select(only, skip, config)
    from nbprod.history.records import new_id, now

    report = GateReport(
        id=new_id("gate-"),
        root=str(config.root),
        started_at=now(),
        git_commit=Git(config.root).head() if (config.root / ".git").exists() else None,
    )
    # the history is opened only when a step or the report needs it
    needed = store is not None or save or "smoke" in names
    with open_history(config, store) if needed else contextlib.nullcontext() as history:
        context = GateContext(config, history, on_progress)
        start = time.perf_counter()
        for name in names:
            if on_step:
                on_step(name, None)
            step_start = time.perf_counter()
            try:
                result = gate_steps.get(name)(context)
            except NbprodError as exc:
                # a step that cannot run at all is a failed step, not a crash
                result = StepResult(
                    name,
                    FAILED,
                    0,
                    1,
                    summary=exc.message,
                    findings=[Finding(exc.message, code=name, hint=exc.hint)],
                )
            result.duration = time.perf_counter() - step_start
            report.steps.append(result)
            if on_step:
                on_step(name, result)
        report.duration = time.perf_counter() - start
        if save and history is not None:
            from nbprod.gate.store import save_report

            save_report(history, report)
    return report
