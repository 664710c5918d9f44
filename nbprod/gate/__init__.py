"""The quality gate: sync, deps, lint, tests, smoke (and opt-in package), each a registered step.

``run_gate(config)`` runs the steps and returns a :class:`GateReport`;
``nbprod check`` renders it and ``nbprod push`` refuses to commit unless it
passed.
"""

# importing the step modules registers them (deps imports steps first: it goes before lint)
from nbprod.gate import deps as _deps  # noqa: F401
from nbprod.gate import package as _package  # noqa: F401
from nbprod.gate import steps as _steps  # noqa: F401
from nbprod.gate.registry import GateContext, GateSteps, gate_steps
from nbprod.gate.report import Finding, GateReport, StepResult
from nbprod.gate.runner import require_project, run_gate

__all__ = [
    "Finding",
    "GateContext",
    "GateReport",
    "GateSteps",
    "StepResult",
    "gate_steps",
    "require_project",
    "run_gate",
]
