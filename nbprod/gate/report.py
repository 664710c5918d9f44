"""What the quality gate found: a report of steps, each with its findings."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
STEP_STATUSES = (PASSED, FAILED, SKIPPED)


@dataclass
class Finding:
    """One thing a gate step found: a lint message, a test outcome, a stale file.

    Attributes
    ----------
    message : str
        One line saying what is wrong (or, for a passing test, its outcome).
    path : str or None
        The file, relative to the project root.
    line, col : int or None
        One-based position in the file; for notebooks ``cell`` says which cell.
    cell : int or None
        One-based cell number, for findings inside a notebook.
    code : str or None
        The rule code (``F401``), or the tool that reported it.
    severity : str
        ``error`` (fails the step), ``warning``, or ``info`` (e.g. a passing test).
    name : str or None
        For tests: the test's node id.
    outcome : str or None
        For tests: ``passed``, ``failed``, ``error`` or ``skipped``.
    hint : str or None
        What to do about it.
    """

    message: str
    path: str | None = None
    line: int | None = None
    col: int | None = None
    cell: int | None = None
    code: str | None = None
    severity: str = "error"
    name: str | None = None
    outcome: str | None = None
    hint: str | None = None

    @property
    def where(self) -> str:
        """``path:line:col`` (with the cell for notebooks), or ``""``."""
        if not self.path:
            return self.name or ""
        text = self.path
        if self.cell is not None:
            text += f":cell_{self.cell}"
        for part in (self.line, self.col):
            if part is None:
                break
            text += f":{part}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready mapping."""
        return {
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "cell": self.cell,
            "code": self.code,
            "severity": self.severity,
            "name": self.name,
            "outcome": self.outcome,
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Rebuild a finding from :meth:`to_dict`'s mapping."""
        return cls(**data)


@dataclass
class StepResult:
    """The outcome of one gate step.

    Attributes
    ----------
    name : str
        The step's registered name (``sync``, ``lint``, ``tests``, ``smoke``).
    status : str
        ``passed``, ``failed`` or ``skipped``.
    passed, total : int
        How many of the step's checks passed, out of how many (tests, files,
        tool runs, notebooks): what the commit trailer summarises.
    duration : float
        Seconds the step took.
    summary : str
        One line for the report table.
    findings : list of Finding
        What it found, errors first.
    """

    name: str
    status: str
    passed: int = 0
    total: int = 0
    duration: float = 0.0
    summary: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the step failed."""
        return self.status == FAILED

    @property
    def problems(self) -> list[Finding]:
        """The findings that are errors or warnings (not passing tests)."""
        return [f for f in self.findings if f.severity != "info"]

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready mapping."""
        return {
            "name": self.name,
            "status": self.status,
            "passed": self.passed,
            "total": self.total,
            "duration": round(self.duration, 3),
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        """Rebuild a step result from :meth:`to_dict`'s mapping."""
        values = dict(data)
        values["findings"] = [Finding.from_dict(f) for f in data.get("findings", [])]
        return cls(**values)


@dataclass
class GateReport:
    """The outcome of the quality gate over a project.

    Attributes
    ----------
    id : str
        The report's id (sorts by time).
    root : str
        The project folder.
    started_at : datetime
        When the gate started (UTC).
    duration : float
        Seconds the whole gate took.
    steps : list of StepResult
        One per step that was asked for, in order.
    git_commit : str or None
        The commit checked out when the gate ran.
    """

    id: str
    root: str
    started_at: _dt.datetime
    duration: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    git_commit: str | None = None

    @property
    def ok(self) -> bool:
        """True when no step failed."""
        return not any(step.failed for step in self.steps)

    @property
    def exit_code(self) -> int:
        """0 when the gate passed, 1 when a step failed."""
        return 0 if self.ok else 1

    def step(self, name: str) -> StepResult | None:
        """Return the result of the step called ``name``, if it ran."""
        return next((s for s in self.steps if s.name == name), None)

    def summary(self) -> str:
        """One line: ``passed (sync 3/3, lint 4/4, tests 12/12, smoke 1/1)``."""
        parts = [
            f"{s.name} {s.passed}/{s.total}" if s.status != SKIPPED else f"{s.name} -"
            for s in self.steps
        ]
        verdict = "passed" if self.ok else "failed"
        return f"{verdict} ({', '.join(parts)})" if parts else verdict

    def trailer(self) -> str:
        """The commit trailer that records the gate in the commit message."""
        return f"Nbprod-Gate: {self.summary()}"

    def to_dict(self) -> dict[str, Any]:
        """Return the report as the JSON shared by the CLI, the server and the history."""
        return {
            "id": self.id,
            "ok": self.ok,
            "root": self.root,
            "started_at": self.started_at.isoformat(),
            "duration": round(self.duration, 3),
            "git_commit": self.git_commit,
            "summary": self.summary(),
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateReport:
        """Rebuild a report from :meth:`to_dict`'s mapping."""
        return cls(
            id=data["id"],
            root=data["root"],
            started_at=_dt.datetime.fromisoformat(data["started_at"]),
            duration=data.get("duration", 0.0),
            steps=[StepResult.from_dict(s) for s in data.get("steps", [])],
            git_commit=data.get("git_commit"),
        )
