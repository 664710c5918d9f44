"""The registry of gate steps, papermill style: built-ins plus entry points.

A gate step is a function taking a :class:`GateContext` and returning a
:class:`~nbprod.gate.report.StepResult`. nbprod registers ``sync``, ``lint``,
``tests`` and ``smoke``; a plugin adds its own with
``gate_steps.register("mypy", run_mypy)`` or an entry point in the
``nbprod.gate_steps`` group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from nbprod.config import ProjectConfig
from nbprod.errors import NbprodError
from nbprod.gate.report import StepResult

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore

ENTRY_POINT_GROUP = "nbprod.gate_steps"


@dataclass
class GateContext:
    """What a gate step gets: the project, the history, and a progress callback.

    Attributes
    ----------
    config : ProjectConfig
        The project being checked.
    store : HistoryStore or None
        The run history (smoke runs are recorded there); None to use the
        project's own.
    on_progress : callable or None
        Called with a short line saying what the step is doing now.
    """

    config: ProjectConfig
    store: HistoryStore | None = None
    on_progress: Callable[[str], None] | None = None

    def progress(self, message: str) -> None:
        """Report what the step is doing, when someone listens."""
        if self.on_progress:
            self.on_progress(message)


StepFunction = Callable[[GateContext], StepResult]
#: says whether an opt-in step runs for a project when nobody named it
StepEnabled = Callable[[ProjectConfig], bool]


class GateSteps:
    """The gate steps by name, in the order they run."""

    def __init__(self) -> None:
        self._steps: dict[str, StepFunction] = {}
        self._enabled: dict[str, StepEnabled] = {}
        self._entry_points_loaded = False

    def register(
        self,
        name: str,
        step: StepFunction,
        *,
        before: str | None = None,
        enabled: StepEnabled | None = None,
    ) -> None:
        """Add (or replace) the step called ``name``.

        Parameters
        ----------
        name, step
            The step's name and function.
        before : str, optional
            Run it just before this step (default: last).
        enabled : callable, optional
            For opt-in steps: runs only when this says so for the project, or
            when the step is named in ``only``.
        """
        self._steps.pop(name, None)
        if before in self._steps:
            items = list(self._steps.items())
            at = [n for n, _ in items].index(before)
            items.insert(at, (name, step))
            self._steps = dict(items)
        else:
            self._steps[name] = step
        if enabled is not None:
            self._enabled[name] = enabled
        else:
            self._enabled.pop(name, None)

    def register_entry_points(self) -> None:
        """Add the steps that installed packages declare in ``nbprod.gate_steps``."""
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for point in entry_points(group=ENTRY_POINT_GROUP):
            self.register(point.name, point.load())

    def names(self) -> list[str]:
        """Every registered step, in running order."""
        self.register_entry_points()
        return list(self._steps)

    def get(self, name: str) -> StepFunction:
        """Return the step called ``name``.

        Raises
        ------
        NbprodError
            When no step has that name (bad usage: exit code 2).
        """
        names = self.names()
        if name not in self._steps:
            raise NbprodError(
                f"no gate step called {name!r}",
                hint=f"the steps are: {', '.join(names)}",
            )
        return self._steps[name]

    def select(
        self,
        only: tuple[str, ...] = (),
        skip: tuple[str, ...] = (),
        config: ProjectConfig | None = None,
    ) -> list[str]:
        """The steps to run: ``only`` those (in running order), minus ``skip``.

        Without ``only``, an opt-in step runs only when its ``enabled`` check
        says so for ``config`` (never when no config is given).

        Raises
        ------
        NbprodError
            When a name in ``only`` or ``skip`` is not a step.
        """
        for name in (*only, *skip):
            self.get(name)

        def wanted(name: str) -> bool:
            if only:
                return name in only
            enabled = self._enabled.get(name)
            return enabled is None or (config is not None and enabled(config))

        return [n for n in self.names() if wanted(n) and n not in skip]


#: the registry every gate run uses
gate_steps = GateSteps()
