"""The one error hierarchy of nbprod.

Every problem a user can cause (a bad notebook, a bad parameter, a stale export)
is an :class:`NbprodError` carrying a one-line message, an optional location and
a hint. Front doors map the class to an exit code (CLI) or an HTTP status
(server) in one place each, so no traceback ever reaches a user for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, and optionally a cell and a line in it.

    Parameters
    ----------
    path : str
        The file, relative to the project root when possible.
    cell : int or None
        Zero-based index of the cell in the notebook.
    cell_id : str or None
        The nbformat cell id, when the cell has one.
    line : int or None
        One-based line number inside the cell (or the file).
    column : int or None
        One-based column on that line, when the source of the error knows it
        (a YAML parser does); in the JSON only when set.
    """

    path: str
    cell: int | None = None
    cell_id: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = self.path
        if self.cell is not None:
            text += f", cell {self.cell + 1}"
        if self.line is not None:
            text += f", line {self.line}"
        if self.column is not None:
            text += f", column {self.column}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the location as a JSON-ready mapping."""
        data: dict[str, Any] = {
            "path": self.path,
            "cell": self.cell,
            "cell_id": self.cell_id,
            "line": self.line,
        }
        if self.column is not None:
            data["column"] = self.column
        return data


class NbprodError(Exception):
    """A problem the user can fix, with where it is and what to do.

    Parameters
    ----------
    message : str
        One line saying what is wrong.
    location : Location or None
        Where the problem is.
    hint : str or None
        What to do about it, in words that fit every front door (no command
        line flags, no button names).
    actions : sequence of str
        Machine names of the remedies a front door can offer for it
        (``"sync"``, ``"force_export"``, ``"export"``, ``"init"``): the command
        line names its command, the UI shows its button.
    """

    #: machine-readable kind of error: front doors (the UI, ``--json`` readers)
    #: decide on it, never on the message, the exit code or the HTTP status
    type = "error"
    #: exit code of the command line for this kind of error
    exit_code = 2
    #: HTTP status of the server for this kind of error
    http_status = 400

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        hint: str | None = None,
        actions: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.actions = tuple(actions)

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (export workers, batch runs): keep
        # location and hint, which the default pickling of exceptions drops.
        return (_restore_error, (type(self), self.__dict__.copy()))

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the error as the JSON shape shared by the CLI and the server."""
        return {
            "type": self.type,
            "message": self.message,
            "location": self.location.to_dict() if self.location else None,
            "hint": self.hint,
            "actions": list(self.actions),
        }


def _restore_error(cls: type[NbprodError], state: dict[str, Any]) -> NbprodError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message"))
    error.__dict__.update(state)
    return error


class NotebookError(NbprodError):
    """A notebook that cannot be read or is not a usable notebook."""

    type = "bad_notebook"

    http_status = 422


class ConfigError(NbprodError):
    """A project configuration that is malformed."""

    type = "bad_config"

    http_status = 422


class ExportError(NbprodError):
    """Export problems that stop anything from being written."""

    type = "export_failed"

    http_status = 422


class HandEditedError(NbprodError):
    """Generated files were edited by hand since nbprod last wrote them."""

    type = "hand_edited"

    exit_code = 1
    http_status = 409

    def __init__(self, paths: list[str]) -> None:
        names = ", ".join(paths)
        super().__init__(
            f"generated file(s) edited by hand since the last export: {names}",
            hint=(
                "pull the edits into the notebook with a sync, "
                "or overwrite them with a forced export"
            ),
            actions=("sync", "force_export"),
        )
        self.paths = paths

    def to_dict(self) -> dict[str, Any]:
        """Return the error with the list of hand-edited files."""
        data = super().to_dict()
        data["files"] = self.paths
        return data


class HandWrittenError(ExportError):
    """A notebook would overwrite a module nbprod did not generate (``--force`` too)."""

    type = "hand_written"

    exit_code = 1
    http_status = 409


class SyncConflictError(NbprodError):
    """A sync refused: a cell changed on both sides, or a block was deleted."""

    type = "sync_conflict"

    exit_code = 1
    http_status = 409


class UnmappableEditError(NbprodError):
    """An edit in a generated file that no notebook cell can take (outside any block,
    a marker edited by hand, a block whose cell is gone)."""

    type = "unmappable_edit"

    http_status = 422


class ParameterError(NbprodError):
    """Run parameters that do not fit the notebook's parameters cell."""

    type = "bad_parameter"

    http_status = 422


class NotFoundError(NbprodError):
    """A run, batch or file that does not exist."""

    type = "not_found"

    http_status = 404


@dataclass(frozen=True)
class Problem:
    """A finding about a notebook or file that does not stop the program.

    Parameters
    ----------
    severity : str
        ``error`` (blocks the work), ``warning`` or ``note``.
    message : str
        One line saying what is wrong.
    location : Location
        Where it is.
    hint : str or None
        What to do about it.
    """

    severity: str
    message: str
    location: Location
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        """Rebuild a problem from :meth:`to_dict`'s mapping."""
        return cls(
            data["severity"],
            data["message"],
            Location(**data["location"]),
            data.get("hint"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready mapping."""
        return {
            "severity": self.severity,
            "message": self.message,
            "location": self.location.to_dict(),
            "hint": self.hint,
        }


class GitError(NbprodError):
    """A git operation that could not be done (not a repository, bad branch, commit failed)."""

    type = "git_failed"

    http_status = 409


class IgnoredFilesError(GitError):
    """Files the gate checked that git ignores: a commit would leave them out.

    Parameters
    ----------
    rules : dict
        Each ignored file and the ignore-file line that ignores it (shown as
        ``git check-ignore -v`` does: ``source:line: pattern``).
    """

    type = "ignored_files"

    def __init__(self, rules: dict[str, Any]) -> None:
        listed = "; ".join(f"{path} (by {rule})" for path, rule in rules.items())
        super().__init__(
            "git ignores files the gate checked, so the commit would leave them "
            f"out: {listed}",
            hint=(
                "remove those lines from the ignore file (generated modules and "
                "tests belong in the commit), then push again"
            ),
        )
        self.files = {path: str(rule) for path, rule in rules.items()}

    def to_dict(self) -> dict[str, Any]:
        """Return the error with each ignored file and its ignore rule."""
        data = super().to_dict()
        data["files"] = self.files
        return data


class PushRejectedError(GitError):
    """The remote refused the push; the local commit is kept.

    Parameters
    ----------
    message, hint : str
        What happened and what to do.
    commit : str or None
        The local commit that was made and not pushed.
    report : Any
        The :class:`~nbprod.gate.GateReport` of the gate that passed.
    """

    type = "push_rejected"

    exit_code = 1

    def __init__(
        self,
        message: str,
        hint: str | None,
        commit: str | None,
        report: Any = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.commit = commit
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        """Return the error with the kept local commit and the gate report."""
        data = super().to_dict()
        data["commit"] = self.commit
        data["report"] = self.report.to_dict() if self.report is not None else None
        return data


class GateFailedError(NbprodError):
    """The quality gate failed, so nothing was committed or pushed.

    Parameters
    ----------
    report : Any
        The :class:`~nbprod.gate.GateReport` that failed.
    """

    type = "gate_failed"

    exit_code = 1
    http_status = 409

    def __init__(self, report: Any) -> None:
        failed = ", ".join(step.name for step in report.steps if step.failed)
        super().__init__(
            f"the quality gate failed ({failed}): nothing was committed or pushed",
            hint="fix the findings, then push again",
        )
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        """Return the error with the gate report."""
        data = super().to_dict()
        data["report"] = self.report.to_dict()
        return data


class ExecutorError(NbprodError):
    """A batch executor that cannot start: a missing extra, an unreachable scheduler."""

    type = "executor_unavailable"

    http_status = 503


class LockTimeoutError(NbprodError):
    """Another nbprod command held a project lock (export manifest, git index) too long."""

    type = "locked"

    exit_code = 1
    http_status = 409


class BusyError(NbprodError):
    """Work that another live process is doing (resuming a batch that still runs)."""

    type = "busy"

    http_status = 409


class KeeperError(NbprodError):
    """The warm keeper (``nbprod warm``) could not be started or stopped."""

    type = "keeper_failed"

    exit_code = 1
    http_status = 503
