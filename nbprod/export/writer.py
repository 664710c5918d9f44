"""Writing export plans to disk: only changed files, atomically, never over hand edits.

nbprod keeps a manifest in ``.nbprod/export.json``: the hash of every file it
wrote, and for each notebook a key made of the notebook's bytes and the
settings that shape the output. A generated file whose content no longer has
its recorded hash was edited by hand and is never overwritten without
``force``. A notebook whose key has not changed, and whose files are as nbprod
left them, is not even parsed again: that is what makes a no-change re-export
of a large project fast.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from nbprod._version import __version__
from nbprod.config import ProjectConfig, default_jobs
from nbprod.errors import (
    ExportError,
    HandEditedError,
    HandWrittenError,
    NbprodError,
    Problem,
)
from nbprod.export.plan import ExportPlan, GeneratedFile, plan_notebook
from nbprod.export.render import HEADER_MARK, black_settings
from nbprod.files import write_atomic
from nbprod.locks import project_lock
from nbprod.notebook.reader import read_notebook

MANIFEST_NAME = "export.json"
MANIFEST_VERSION = 1
#: folder in ``.nbprod/`` with the text of every generated file as last written,
#: named by its digest: the base of ``nbprod sync``'s three-way decisions
BASE_DIR = "base"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileResult:
    """What export did (or would do) to one file."""

    path: str
    kind: str
    #: ``written``, ``unchanged``, or with ``--check``: ``stale``
    status: str
    diff: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready mapping."""
        data: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "status": self.status,
        }
        if self.diff is not None:
            data["diff"] = self.diff
        return data


@dataclass
class NotebookResult:
    """The outcome of exporting one notebook."""

    notebook: str
    module: str | None
    files: list[FileResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready mapping."""
        return {
            "notebook": self.notebook,
            "module": self.module,
            "files": [f.to_dict() for f in self.files],
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class ExportResult:
    """The outcome of ``nbprod export`` over one or more notebooks.

    Attributes
    ----------
    notebooks : list of NotebookResult
        One entry per notebook, in order.
    errors : list of NbprodError
        Notebooks that could not be read at all (bad input).
    check : bool
        True for ``--check``: nothing was written, stale files have diffs.
    """

    notebooks: list[NotebookResult] = field(default_factory=list)
    errors: list[NbprodError] = field(default_factory=list)
    check: bool = False

    @property
    def problems(self) -> list[Problem]:
        """Every problem of every notebook."""
        return [p for nb in self.notebooks for p in nb.problems]

    @property
    def stale(self) -> list[FileResult]:
        """Files that are out of date (``--check``)."""
        return [f for nb in self.notebooks for f in nb.files if f.status == "stale"]

    @property
    def exit_code(self) -> int:
        """0 all good, 1 problems or stale files, 2 unreadable notebooks."""
        if self.errors:
            return 2
        if any(p.severity == "error" for p in self.problems) or self.stale:
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        """Return the result as the JSON shared by the CLI and the server."""
        return {
            "ok": self.exit_code == 0,
            "check": self.check,
            "notebooks": [nb.to_dict() for nb in self.notebooks],
            "errors": [e.to_dict() for e in self.errors],
        }


class Manifest:
    """What nbprod last wrote: file hashes and notebook keys, in ``.nbprod/``."""

    def __init__(self, config: ProjectConfig) -> None:
        self.path = config.state_dir / MANIFEST_NAME
        self.files: dict[str, str] = {}
        self.notebooks: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return
        if isinstance(data, dict) and data.get("version") == MANIFEST_VERSION:
            self.files = dict(data.get("files", {}))
            self.notebooks = dict(data.get("notebooks", {}))

    def text(self) -> str:
        """The manifest's JSON text."""
        data = {
            "version": MANIFEST_VERSION,
            "files": self.files,
            "notebooks": self.notebooks,
        }
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    def save(self) -> None:
        """Write the manifest atomically."""
        write_atomic(self.path, self.text())


def base_path(config: ProjectConfig, digest: str) -> Path:
    """Where the text of a generated file with ``digest`` is kept as a sync base."""
    return config.state_dir / BASE_DIR / digest


def save_base(config: ProjectConfig, content: str) -> None:
    """Keep ``content`` (a file export wrote) as the base of a later sync."""
    path = base_path(config, _digest(content.encode()))
    if not path.exists():
        write_atomic(path, content)


def read_base(config: ProjectConfig, digest: str | None) -> str | None:
    """The text export last wrote for a file of this digest, when it was kept."""
    if digest is None:
        return None
    try:
        text = base_path(config, digest).read_text("utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    # A base is trusted only when it still is what its name says.
    return text if _digest(text.encode()) == digest else None


def prune_bases(config: ProjectConfig, manifest: Manifest) -> None:
    """Remove kept bases that no file of the manifest refers to any more."""
    folder = config.state_dir / BASE_DIR
    if not folder.is_dir():
        return
    wanted = set(manifest.files.values())
    for path in folder.iterdir():
        if path.name not in wanted and not path.name.startswith("."):
            path.unlink(missing_ok=True)


def record_notebook(
    manifest: Manifest,
    config: ProjectConfig,
    plan: ExportPlan,
    key: str,
    files: list[FileResult],
) -> None:
    """Record in the manifest what was written for one notebook (file digests, key)."""
    for file in plan.files:
        if not file.create_only:
            manifest.files[config.relpath(file.path)] = _digest(file.content.encode())
            save_base(config, file.content)
    manifest.notebooks[plan.name] = {
        "key": key,
        "module": plan.module,
        "files": [[f.path, f.kind] for f in files],
        "problems": [p.to_dict() for p in plan.problems],
    }


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """A hash of the code that renders exports, so a changed nbprod never reuses old output."""
    package = Path(__file__).resolve().parent.parent
    sources = sorted(
        [
            *package.joinpath("export").glob("*.py"),
            *package.joinpath("notebook").glob("*.py"),
        ]
    )
    return _digest(b"".join(path.read_bytes() for path in sources))


@lru_cache(maxsize=1)
def _black_version() -> str:
    # not `black.__version__`: importing black (or importlib.metadata) would
    # cost a no-change export most of its time; black ships this tiny module
    try:
        from _black_version import version
    except ImportError:
        from importlib.metadata import version as distribution_version

        return distribution_version("black")
    return str(version)


def notebook_key(data: bytes, config: ProjectConfig) -> str:
    """A key for a notebook's export: its bytes and every setting that shapes the files."""
    settings = (
        __version__,
        _code_fingerprint(),
        _black_version(),
        config.package,
        config.source,
        config.tests,
        config.relative_imports,
        repr(sorted(black_settings(config.root).items())),
    )
    return _digest(data + repr(settings).encode())


def find_notebooks(
    config: ProjectConfig, paths: Iterable[Path | str] = ()
) -> list[Path]:
    """The notebooks to export: those named (folders searched), else all in the project.

    Checkpoints, hidden folders and the runs folder (output notebooks) are skipped.
    """
    named = [Path(p) for p in paths] or [config.notebooks_dir]
    skip = {config.runs_dir.resolve(), config.state_dir.resolve()}
    found: list[Path] = []
    for path in named:
        if not path.is_dir():
            found.append(path)
            continue
        for candidate in sorted(path.rglob("*.ipynb")):
            parts = candidate.relative_to(path).parts
            if any(part.startswith(".") for part in parts):
                continue
            if any(parent.resolve() in skip for parent in candidate.parents):
                continue
            found.append(candidate)
    return found


def add_cell_ids(path: Path) -> bool:
    """Give every cell of a notebook an id (nbformat 4.5), re-saving it; True if changed."""
    nb = read_notebook(path, require_code=False)
    changed = nb.nbformat_minor < 5 or any("id" not in cell for cell in nb.cells)
    if not changed:
        return False
    nb.nbformat_minor = max(nb.nbformat_minor, 5)
    for cell in nb.cells:
        cell.setdefault("id", uuid.uuid4().hex[:8])
    import nbformat

    write_atomic(path, nbformat.writes(nb) + "\n")
    return True


#: how nbdev marks the modules it writes (after the module docstring, if any)
NBDEV_MARK = "# AUTOGENERATED! DO NOT EDIT! File to edit:"


def generated_by_a_tool(current: bytes) -> bool:
    """True for a file nbprod (or nbdev, before the move) generated from a notebook."""
    if current.startswith(HEADER_MARK.encode()):
        return True
    # nbdev puts the mark after the module docstring, which may be long
    text = current[:65536].decode("utf-8", "replace")
    return any(line.startswith(NBDEV_MARK) for line in text.splitlines())


def _hand_edited(
    file: GeneratedFile, relpath: str, current: bytes, manifest: Manifest
) -> bool:
    recorded = manifest.files.get(relpath)
    if recorded is not None:
        return _digest(current) != recorded
    # Not in the manifest (a fresh clone: .nbprod/ is not committed). A file that
    # carries nbprod's (or nbdev's) header was generated; anything else belongs to the user.
    return not generated_by_a_tool(current)


def _hand_written(relpath: str, current: bytes, manifest: Manifest) -> bool:
    """A module nbprod never generated, such as an nbdev project's ``imports.py``."""
    return relpath not in manifest.files and not generated_by_a_tool(current)


def _unchanged_since_last_export(
    key: str, name: str, config: ProjectConfig, manifest: Manifest
) -> NotebookResult | None:
    entry = manifest.notebooks.get(name)
    if not entry or entry.get("key") != key:
        return None
    files = []
    for relpath, kind in entry.get("files", []):
        try:
            current = (config.root / relpath).read_bytes()
        except FileNotFoundError:
            return None
        if kind != "package" and _digest(current) != manifest.files.get(relpath):
            return None
        files.append(FileResult(relpath, kind, "unchanged"))
    problems = [Problem.from_dict(p) for p in entry.get("problems", [])]
    return NotebookResult(name, entry.get("module"), files, problems)


def export_notebooks(
    config: ProjectConfig,
    paths: Iterable[Path | str] = (),
    *,
    check: bool = False,
    force: bool = False,
    fix_ids: bool = False,
    jobs: int | None = None,
) -> ExportResult:
    """Export notebooks to modules and tests, or check that they are in sync.

    Nothing is written unless every notebook reads and plans without errors and
    no generated file was edited by hand (unless ``force``).

    Parameters
    ----------
    config : ProjectConfig
        The project.
    paths : iterable of Path or str
        Notebooks or folders; all notebooks of the project when empty.
    check : bool
        Write nothing; report stale files with a unified diff.
    force : bool
        Overwrite generated files even when they were edited by hand.
    fix_ids : bool
        Give cells without an id one, re-saving the notebook, so markers use ids.
    jobs : int, optional
        Processes to plan notebooks in; by default one per CPU when there are
        enough notebooks to plan for the start-up to pay off.

    Returns
    -------
    ExportResult
        Per notebook: files written, unchanged or stale, and problems.

    Raises
    ------
    HandEditedError
        When a file to overwrite was edited by hand and ``force`` is False.
    ExportError
        When two notebooks would write the same file.
    """
    result = ExportResult(check=check)
    manifest = Manifest(config)
    slots: list[NotebookResult | NbprodError | None] = []
    pending: list[tuple[int, Path, str]] = []
    for path in find_notebooks(config, paths):
        name = config.relpath(path)
        try:
            if fix_ids and not check:
                add_cell_ids(path)
            key = notebook_key(path.read_bytes() if path.is_file() else b"", config)
        except NbprodError as exc:
            slots.append(exc)
            continue
        slots.append(_unchanged_since_last_export(key, name, config, manifest))
        if slots[-1] is None:
            pending.append((len(slots) - 1, path, key))
    plans: list[tuple[ExportPlan, str]] = []
    outcomes = _plan_all([path for _, path, _ in pending], config, jobs)
    for (slot, _, key), outcome in zip(pending, outcomes, strict=True):
        if isinstance(outcome, NbprodError):
            slots[slot] = outcome
            continue
        plans.append((outcome, key))
        slots[slot] = NotebookResult(outcome.name, outcome.module, [], outcome.problems)
    for slot_value in slots:
        if isinstance(slot_value, NbprodError):
            result.errors.append(slot_value)
        elif slot_value is not None:
            result.notebooks.append(slot_value)
    if not result.notebooks and not result.errors:
        raise ExportError(
            f"no notebooks found in {config.relpath(config.notebooks_dir) or '.'}",
            hint="name the notebooks to export, or set tool.nbprod.notebooks",
        )
    if result.exit_code:
        return result
    _check_collisions(plans, config)
    by_name = {nb.notebook: nb for nb in result.notebooks}
    if check:
        for plan, _ in plans:
            by_name[plan.name].files = [_compare(file, config) for file in plan.files]
        return result
    # The read-modify-write of the manifest, and the files it records, under
    # the project's export lock: a second export (another terminal, the
    # server's "export on save" of a second notebook) waits, then starts from
    # what this one recorded instead of overwriting it with an older manifest.
    if plans:  # nothing changed: nothing to write, record or wait for
        with project_lock(config, "export"):
            _write_plans(config, plans, by_name, force)
    return result


def _write_plans(
    config: ProjectConfig,
    plans: list[tuple[ExportPlan, str]],
    by_name: dict[str, NotebookResult],
    force: bool,
) -> None:
    """Write the planned files and record them; the caller holds the export lock."""
    manifest = Manifest(config)  # read afresh: another export may just have saved
    edited = []
    written_by_hand = []
    for plan, _ in plans:
        for file in plan.files:
            relpath = config.relpath(file.path)
            try:
                current = file.path.read_bytes()
            except FileNotFoundError:
                continue
            if file.create_only or current == file.content.encode():
                continue
            if _hand_written(relpath, current, manifest):
                # even --force never overwrites a module someone wrote by hand
                written_by_hand.append((plan.name, relpath))
            elif not force and _hand_edited(file, relpath, current, manifest):
                edited.append(relpath)
    if written_by_hand:
        notebook, relpath = written_by_hand[0]
        raise HandWrittenError(
            f"{notebook} would overwrite {relpath}, a module nbprod did not generate",
            hint="export the notebook to another module with `#| default_exp`, "
            "or delete or rename the hand-written file",
        )
    if edited:
        raise HandEditedError(edited)
    for plan, key in plans:
        files = []
        for file in plan.files:
            relpath = config.relpath(file.path)
            if file.create_only and file.path.exists():
                written = False
            else:
                written = write_atomic(file.path, file.content)
            files.append(
                FileResult(relpath, file.kind, "written" if written else "unchanged")
            )
        by_name[plan.name].files = files
        record_notebook(manifest, config, plan, key, files)
    manifest.save()
    prune_bases(config, manifest)


#: below this many notebooks to plan, worker start-up costs more than it saves
PARALLEL_THRESHOLD = 8


def _plan_or_error(path: Path, config: ProjectConfig) -> ExportPlan | NbprodError:
    try:
        return plan_notebook(path, config)
    except NbprodError as exc:
        return exc


def _plan_all(
    paths: list[Path], config: ProjectConfig, jobs: int | None
) -> list[ExportPlan | NbprodError]:
    """Plan notebooks, in worker processes when black has much to do.

    Black dominates only when its output is not in the format cache: the
    notebooks are planned here until one needs black, and the rest go to
    workers only then (a cached export costs less than starting them).
    """
    workers = jobs if jobs is not None else default_jobs()
    workers = min(workers, len(paths))
    if workers < 2 or (jobs is None and len(paths) < PARALLEL_THRESHOLD):
        return [_plan_or_error(path, config) for path in paths]
    planned: list[ExportPlan | NbprodError] = []
    if jobs is None:
        from nbprod.export import blackcache

        before = blackcache.misses
        while len(paths) - len(planned) >= PARALLEL_THRESHOLD:
            planned.append(_plan_or_error(paths[len(planned)], config))
            if blackcache.misses != before:
                break
        else:
            return planned + [_plan_or_error(p, config) for p in paths[len(planned) :]]
        paths = paths[len(planned) :]
    # fork is fastest (workers inherit the imported modules) but unsafe once a
    # process has threads, as a Jupyter server has; forkserver is safe there.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        chunk = max(1, len(paths) // (workers * 4))
        return planned + list(
            pool.map(_plan_or_error, paths, [config] * len(paths), chunksize=chunk)
        )


def _check_collisions(
    plans: list[tuple[ExportPlan, str]], config: ProjectConfig
) -> None:
    owners: dict[Path, str] = {}
    for plan, _ in plans:
        for file in plan.files:
            if file.create_only:
                continue
            other = owners.setdefault(file.path, plan.name)
            if other != plan.name:
                raise ExportError(
                    f"{other} and {plan.name} both export to {config.relpath(file.path)}",
                    hint="give one of them another module with `#| default_exp`",
                )


def _compare(file: GeneratedFile, config: ProjectConfig) -> FileResult:
    relpath = config.relpath(file.path)
    try:
        current = file.path.read_text("utf-8")
    except FileNotFoundError:
        current = None
    if current is not None and (file.create_only or current == file.content):
        return FileResult(relpath, file.kind, "unchanged")
    diff = "".join(
        difflib.unified_diff(
            (current or "").splitlines(keepends=True),
            file.content.splitlines(keepends=True),
            fromfile=f"a/{relpath}" if current is not None else "/dev/null",
            tofile=f"b/{relpath}",
        )
    )
    return FileResult(relpath, file.kind, "stale", diff)
