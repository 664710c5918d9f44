"""Runs side by side: effective parameters, metrics and the best run per metric.

The one comparison behind ``nbprod runs --compare``, ``GET runs/compare`` and
the JupyterLab Compare view. A run's *effective* parameters are what the
notebook ran with: the values it was given (the history's record, completed by
papermill's record in the output notebook) over the defaults of the parameters
cell (read from the output notebook, which keeps the cell as it ran; the
source notebook when the output is gone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from nbprod.config import ProjectConfig
from nbprod.errors import NbprodError
from nbprod.history.records import RunRecord
from nbprod.notebook.parameters import find_parameters_cell
from nbprod.values import short_text, to_display

#: where an effective value came from
GIVEN, DEFAULT, UNKNOWN = "given", "default", "unknown"

# Metrics where lower is better; every other metric is best at its maximum.
_LOWER_IS_BETTER = re.compile(
    r"(loss|error|err|mse|mae|rmse|mape|latency|duration|time|cost|regret)s?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class EffectiveValue:
    """One parameter's value in one run, and where it came from."""

    value: Any
    source: str


@dataclass(frozen=True)
class ComparedParameter:
    """One parameter across the compared runs (one entry per run, in order)."""

    name: str
    values: list[EffectiveValue]
    differs: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the parameter as JSON: display values, their text and sources."""
        return {
            "name": self.name,
            "values": [to_display(v.value) for v in self.values],
            "texts": [
                value_text(v.value) if v.source != UNKNOWN else "" for v in self.values
            ],
            "sources": [v.source for v in self.values],
            "differs": self.differs,
        }


@dataclass(frozen=True)
class ComparedMetric:
    """One metric across the compared runs, with the best run marked."""

    name: str
    values: list[float | None]
    goal: str
    best: int | None
    differs: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the metric as JSON."""
        return {
            "name": self.name,
            "values": self.values,
            "goal": self.goal,
            "best": self.best,
            "differs": self.differs,
        }


@dataclass
class RunComparison:
    """Runs side by side.

    Attributes
    ----------
    runs : list of RunRecord
        The runs, in the order asked for.
    parameters : list of ComparedParameter
        Every parameter any run has, those that differ first.
    metrics : list of ComparedMetric
        Every numeric metric any run recorded, sorted by name.
    """

    runs: list[RunRecord]
    parameters: list[ComparedParameter] = field(default_factory=list)
    metrics: list[ComparedMetric] = field(default_factory=list)

    @property
    def differing(self) -> list[ComparedParameter]:
        """The parameters whose effective values are not all the same."""
        return [p for p in self.parameters if p.differs]

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as the JSON the CLI and the server share."""
        return {
            "runs": [run.to_dict() for run in self.runs],
            "parameters": [p.to_dict() for p in self.parameters],
            "metrics": [m.to_dict() for m in self.metrics],
        }


def value_text(value: Any) -> str:
    """Return a parameter value as a person reads it: ``1.0`` stays ``1.0``."""
    return short_text(value, digits=6)


def metric_goal(name: str) -> str:
    """Return ``"min"`` for metrics named like a loss or an error, else ``"max"``."""
    return "min" if _LOWER_IS_BETTER.search(name) else "max"


def _read(path: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        # gone or unreadable: the comparison says "unknown", it never fails on it
        return None


def effective_parameters(
    config: ProjectConfig, run: RunRecord
) -> dict[str, EffectiveValue]:
    """Return what a run ran with: given values over the parameters cell's defaults.

    Parameters
    ----------
    config : ProjectConfig
        The project (output paths are relative to its root).
    run : RunRecord
        The run.

    Returns
    -------
    dict
        Parameter name → value and source (``given`` or ``default``), in the
        parameters cell's order, then any given parameter the cell lacks.
    """
    nb = None
    if run.output_path:
        output = Path(run.output_path)
        nb = _read(output if output.is_absolute() else config.root / output)
    recorded: dict[str, Any] = {}
    if nb is None:
        nb = _read(config.root / run.notebook)
    else:
        recorded = dict(nb.metadata.get("papermill", {}).get("parameters") or {})
    values: dict[str, EffectiveValue] = {}
    cell = None
    if nb is not None:
        try:
            cell = find_parameters_cell(nb, run.notebook)
        except NbprodError:
            cell = None
    for parameter in cell.parameters if cell else []:
        default = parameter.default if parameter.literal else parameter.default_source
        values[parameter.name] = EffectiveValue(default, DEFAULT)
    # the history keeps Python values (tuples, dates); papermill's record only JSON
    for name, value in {**recorded, **run.parameters}.items():
        values[name] = EffectiveValue(value, GIVEN)
    return values


def _same(values: Sequence[EffectiveValue]) -> bool:
    known = [json.dumps(to_display(v.value), sort_keys=True) for v in values]
    return len(set(known)) <= 1 and all(v.source != UNKNOWN for v in values)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value else None  # NaN is no number to rank


def compare_runs(config: ProjectConfig, runs: Sequence[RunRecord]) -> RunComparison:
    """Put runs side by side.

    Parameters
    ----------
    config : ProjectConfig
        The project of the runs.
    runs : sequence of RunRecord
        The runs to compare, in the order to show them.

    Returns
    -------
    RunComparison
        Effective parameters (differing first) and metrics with the best run.
    """
    effective = [effective_parameters(config, run) for run in runs]
    names: list[str] = []
    for values in effective:
        names.extend(n for n in values if n not in names)
    parameters = []
    for name in names:
        row = [values.get(name, EffectiveValue(None, UNKNOWN)) for values in effective]
        parameters.append(ComparedParameter(name, row, differs=not _same(row)))
    # stable: the differing ones first, each group in the parameters cell's order
    parameters.sort(key=lambda p: not p.differs)

    metric_names = sorted(
        {n for run in runs for n, v in run.metrics.items() if _number(v) is not None}
    )
    metrics = []
    for name in metric_names:
        numbers = [_number(run.metrics.get(name)) for run in runs]
        goal = metric_goal(name)
        known = [(v, i) for i, v in enumerate(numbers) if v is not None]
        best = None
        if known:
            pick = max if goal == "max" else min
            # the first run wins a tie: the order the user asked for
            best = pick(
                known,
                key=lambda pair: (
                    (pair[0], -pair[1]) if goal == "max" else (pair[0], pair[1])
                ),
            )[1]
        differs = len({v for v, _ in known}) > 1 or len(known) != len(numbers)
        metrics.append(ComparedMetric(name, numbers, goal, best, differs))
    return RunComparison(list(runs), parameters, metrics)
