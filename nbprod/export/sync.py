"""Sync: hand edits in generated modules and tests flow back into their notebook cells.

Every block of a generated file sits under a marker naming its notebook and
cell id (``# %% [nbprod] notebooks/a.ipynb cell id=3f2a``), so the way back is
exact, whatever the cells' order. Each block is decided three ways:

* the *base* is what export last wrote (kept in ``.nbprod/base/`` under the
  digest the manifest records);
* the *module side* is the file on disk now;
* the *notebook side* is what the cell renders to now.

A block changed only on the module side goes into its cell; changed on both
sides, differently, it is a conflict and the notebook is refused unless a side
is preferred. After the cells are updated the notebook is planned again and
the generated files are rewritten from it, so ``nbprod export --check`` is
clean; an edit the notebook cannot express (the new render would not keep it)
is refused before anything is written. Writes of one notebook (the notebook,
its generated files, the manifest) succeed or fail together.
"""

from __future__ import annotations

import ast
import copy
import difflib
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import black
import nbformat

from nbprod.config import ProjectConfig
from nbprod.errors import (
    Location,
    NbprodError,
    NotebookError,
    SyncConflictError,
    UnmappableEditError,
)
from nbprod.export.analysis import analyze_cell, import_names
from nbprod.export.plan import ExportPlan, GeneratedFile, plan_notebook
from nbprod.export.render import HEADER_MARK, black_mode, dedent_code
from nbprod.export.writer import (
    FileResult,
    Manifest,
    find_notebooks,
    notebook_key,
    prune_bases,
    read_base,
    record_notebook,
)
from nbprod.files import stage_write
from nbprod.locks import project_lock
from nbprod.notebook.cells import Cell, Role, classify_cells, parse_directives
from nbprod.notebook.ipython import make_plain, parse_python
from nbprod.notebook.reader import parse_notebook

Prefer = Literal["module", "notebook"]

#: a block marker as render.marker writes it
_MARKER = re.compile(
    r"^# %% \[nbprod\] (?P<notebook>.+) cell (?:id=(?P<id>\S+)|index=(?P<index>\d+))\s*$"
)
_MARKER_START = "# %% [nbprod]"
#: the function line export wraps a test cell with assertions in
_TEST_DEF = re.compile(r"^def (?P<name>\w+)\(\):\s*$")
#: directives that give a cell its export or test role (removed by --allow-delete)
_ROLE_DIRECTIVES = {"export", "exporti", "exports", "test"}


# -- results -------------------------------------------------------------------


@dataclass
class CellChange:
    """A notebook cell that a sync writes (or, with ``check``, would write).

    Attributes
    ----------
    index : int
        Zero-based index of the cell in the notebook (after the sync, for an
        inserted cell).
    cell_id : str or None
        The cell id.
    action : str
        ``update`` (new source), ``insert`` (a new cell holding added imports)
        or ``untag`` (a deleted block: the cell loses its export or test role).
    first_line : str
        The first line of the cell's source before the change (after, for an insert).
    diff : str
        A unified diff of the cell's source.
    source : str
        The new source.
    file : str
        The generated file the change comes from.
    line : int or None
        The line of that file where the block or import starts.
    """

    index: int
    cell_id: str | None
    action: str
    first_line: str
    diff: str
    source: str
    file: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the change as a JSON-ready mapping."""
        return {
            "index": self.index,
            "cell_id": self.cell_id,
            "action": self.action,
            "first_line": self.first_line,
            "diff": self.diff,
            "source": self.source,
            "file": self.file,
            "line": self.line,
        }


@dataclass
class Conflict:
    """A cell changed on both sides since the last export, differently."""

    index: int
    cell_id: str | None
    first_line: str
    file: str
    line: int
    #: what the module's block became (base → module)
    module_diff: str
    #: what the cell now renders to (base → notebook)
    notebook_diff: str

    def to_dict(self) -> dict[str, Any]:
        """Return the conflict as a JSON-ready mapping."""
        return {
            "index": self.index,
            "cell_id": self.cell_id,
            "first_line": self.first_line,
            "file": self.file,
            "line": self.line,
            "module_diff": self.module_diff,
            "notebook_diff": self.notebook_diff,
        }


@dataclass
class NotebookSync:
    """The outcome of syncing one notebook.

    Attributes
    ----------
    notebook : str
        The notebook, relative to the project root.
    status : str
        ``unchanged`` (no hand edits), ``synced`` (cells written), ``pending``
        (``check``: a sync would change cells), ``conflict`` or ``refused``.
    changes : list of CellChange
        The cells written, or that would be.
    conflicts : list of Conflict
        Cells changed on both sides (nothing written).
    notes : list of str
        What was regenerated rather than synced (header, ``__all__``, imports
        left out) and other things to know.
    files : list of FileResult
        The generated files rewritten after the cells were updated.
    error : NbprodError or None
        Why the notebook was refused (conflict, deleted block, unmappable edit).
    """

    notebook: str
    status: str = "unchanged"
    changes: list[CellChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)
    error: NbprodError | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome as a JSON-ready mapping."""
        return {
            "notebook": self.notebook,
            "status": self.status,
            "changes": [c.to_dict() for c in self.changes],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "notes": self.notes,
            "files": [f.to_dict() for f in self.files],
            "error": self.error.to_dict() if self.error else None,
        }


@dataclass
class SyncResult:
    """The outcome of ``nbprod sync`` over one or more notebooks.

    Attributes
    ----------
    notebooks : list of NotebookSync
        One entry per notebook, in order.
    errors : list of NbprodError
        Notebooks that could not be read at all (bad input).
    check : bool
        True when nothing was written (``--check``).
    """

    notebooks: list[NotebookSync] = field(default_factory=list)
    errors: list[NbprodError] = field(default_factory=list)
    check: bool = False

    @property
    def refused(self) -> list[NotebookSync]:
        """The notebooks that were refused."""
        return [nb for nb in self.notebooks if nb.error is not None]

    @property
    def exit_code(self) -> int:
        """0 done (or nothing to do), 1 conflicts, deletions or ``--check`` with
        cells to change, 2 unreadable notebooks or unmappable edits."""
        codes = [error.exit_code for error in self.errors]
        codes += [nb.error.exit_code for nb in self.refused if nb.error]
        if self.check and any(nb.status == "pending" for nb in self.notebooks):
            codes.append(1)
        return max(codes, default=0)

    @property
    def http_status(self) -> int:
        """The server's status for this result: 200, or the refusal's (409, 422)."""
        statuses = [error.http_status for error in self.errors]
        statuses += [nb.error.http_status for nb in self.refused if nb.error]
        return max(statuses, default=200)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as the JSON shared by the CLI and the server."""
        return {
            "ok": self.exit_code == 0,
            "check": self.check,
            "notebooks": [nb.to_dict() for nb in self.notebooks],
            "errors": [e.to_dict() for e in self.errors],
        }


# -- reading generated files ---------------------------------------------------


@dataclass
class _Block:
    """One marked block of a generated file."""

    key: str
    notebook: str
    #: 1-based line of the marker in the file
    line: int
    text: str


@dataclass
class _Parsed:
    """A generated file split into its preamble pieces and its blocks."""

    comments: list[str]
    docstring: str | None
    imports: dict[str, int]
    all_names: list[str] | None
    blocks: dict[str, _Block]
    order: list[str]


def _block_key(cell_id: str | None, index: int) -> str:
    return f"id={cell_id}" if cell_id else f"index={index}"


def _import_statements(node: ast.Import | ast.ImportFrom) -> list[str]:
    """One stand-alone statement per name an import binds."""
    if isinstance(node, ast.Import):
        return [
            f"import {a.name}" + (f" as {a.asname}" if a.asname else "")
            for a in node.names
        ]
    module = "." * node.level + (node.module or "")
    return [
        f"from {module} import {a.name}" + (f" as {a.asname}" if a.asname else "")
        for a in node.names
    ]


def _parse_file(text: str, relpath: str, notebook: str) -> _Parsed:
    """Split a generated file, refusing what cannot belong to a cell.

    Raises
    ------
    UnmappableEditError
        For code outside any block, a marker edited by hand or naming another
        notebook, or a block that appears twice.
    """
    lines = text.splitlines()
    starts: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_MARKER_START):
            continue
        match = _MARKER.match(line)
        where = Location(relpath, line=number)
        if match is None:
            raise UnmappableEditError(
                f"the block marker `{line}` was edited by hand",
                where,
                "restore the marker as export wrote it (`# %% [nbprod] <notebook> "
                "cell id=<id>`), or move the edit into the notebook",
            )
        if match["notebook"] != notebook:
            raise UnmappableEditError(
                f"the block marker names {match['notebook']}, but this file is "
                f"generated from {notebook}",
                where,
                "restore the marker as export wrote it, or move the code into "
                "that notebook",
            )
        key = f"id={match['id']}" if match["id"] else f"index={match['index']}"
        if any(key == seen for _, seen, _ in starts):
            raise UnmappableEditError(
                f"the block of cell {key} appears twice",
                where,
                "merge the two blocks into one, or remove the copied marker",
            )
        starts.append((number, key, match["notebook"]))
    first = starts[0][0] if starts else len(lines) + 1
    preamble = "\n".join(lines[: first - 1])
    parsed = _Parsed([], None, {}, None, {}, [])
    parsed.comments = [
        line for line in lines[: first - 1] if line.lstrip().startswith("#")
    ]
    try:
        tree = ast.parse(preamble)
    except SyntaxError as exc:
        raise UnmappableEditError(
            f"syntax error before the first block: {exc.msg}",
            Location(relpath, line=exc.lineno),
            "fix the code, or overwrite the file with a forced export",
            actions=("force_export",),
        ) from None
    for position, node in enumerate(tree.body):
        if (
            position == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            parsed.docstring = node.value.value
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for statement in _import_statements(node):
                parsed.imports.setdefault(statement, node.lineno)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__all__"
        ):
            try:
                parsed.all_names = [str(name) for name in ast.literal_eval(node.value)]
            except ValueError:
                parsed.all_names = []
        else:
            raise UnmappableEditError(
                "code outside any notebook block: "
                f"`{ast.get_source_segment(preamble, node) or ''}`".splitlines()[0],
                Location(relpath, line=node.lineno),
                "move it under the `# %% [nbprod]` marker of the cell it belongs "
                "to, or add it to the notebook",
            )
    bounds = [start for start, _, _ in starts] + [len(lines) + 1]
    for (start, key, name), end in zip(starts, bounds[1:], strict=True):
        # blank lines around a block are layout (an editor's stray indent too)
        inner = lines[start : end - 1]
        while inner and not inner[0].strip():
            inner.pop(0)
        while inner and not inner[-1].strip():
            inner.pop()
        body = "\n".join(inner)
        parsed.blocks[key] = _Block(key, name, start, body)
        parsed.order.append(key)
    return parsed


# -- notebook cells --------------------------------------------------------------


@dataclass
class _CellInfo:
    """A code cell with the lines of its source that export does not copy."""

    cell: Cell
    #: 1-based source lines export keeps out of the block (directives,
    #: hoisted imports, session magics)
    kept: set[int]
    import_lines: set[int]
    imports: bool


def _cell_info(cell: Cell) -> _CellInfo:
    plain = make_plain(cell.source)
    kept = {d.line for d in cell.directives} | {line for line, _ in plain.dropped}
    import_lines: set[int] = set()
    has_imports = False
    try:
        symbols = analyze_cell(plain.code)
    except SyntaxError:
        symbols = None
    if symbols is not None:
        import_lines = set(symbols.import_lines)
        has_imports = bool(symbols.imports)
        kept |= import_lines
    return _CellInfo(cell, kept, import_lines, has_imports)


def _bound_names(node: ast.Import | ast.ImportFrom) -> set[str]:
    return {bound for bound, _ in import_names(node)}


def _without_cell_imports(info: _CellInfo, code: str) -> str:
    """``code`` (a block) without the imports the cell has in its own lines.

    Export hoists a cell's imports out of its block, except where the order
    matters (an import after a star import, a name a test binds again): those
    stay in the block, maybe made relative. The cell keeps its own import
    lines, as it wrote them, so they are dropped from the block's code.
    """
    if not info.import_lines:
        return code
    try:
        cell_names = {
            name
            for node in parse_python(make_plain(info.cell.source).code).body
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for name in _bound_names(node)
        }
        block_nodes = parse_python(code).body
    except SyntaxError:
        return code
    drop: set[int] = set()
    for node in block_nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = _bound_names(node)
            if "*" not in names and names <= cell_names:
                drop.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    if not drop:
        return code
    lines = code.splitlines()
    kept = [line for n, line in enumerate(lines, 1) if n not in drop]
    return "\n".join(kept).strip("\n")


def _first_line(source: str) -> str:
    """The first line of a cell that says what it is (nbdev directives skipped)."""
    directives = {d.line for d in parse_directives(source)}
    lines = source.splitlines()
    return next(
        (
            line
            for number, line in enumerate(lines, 1)
            if line.strip() and number not in directives
        ),
        next((line for line in lines if line.strip()), ""),
    )


def _compose(info: _CellInfo, code: str) -> str:
    """The cell's new source: its kept lines (directives first) and then ``code``.

    The lines export never copies stay where the user had them when they lead
    the cell (the usual place); kept lines found further down (an import in the
    middle of a cell) move up under them, since the block cannot say where they were.
    """
    lines = info.cell.source.splitlines()
    prefix_end = 0
    while prefix_end < len(lines) and (
        prefix_end + 1 in info.kept or not lines[prefix_end].strip()
    ):
        prefix_end += 1
    prefix = lines[:prefix_end]
    later = [
        lines[number - 1]
        for number in sorted(info.kept)
        if number > prefix_end and number <= len(lines)
    ]
    head = prefix + later
    while head and not head[-1].strip() and later:
        head.pop()
    new = head + ([""] if later and code else []) + code.splitlines()
    text = "\n".join(new)
    if info.cell.source.endswith("\n"):
        text += "\n"
    return text


def _code_of_block(block: str, wrapped: bool) -> str:
    """The cell code of a block: a test's function body is unwrapped."""
    if wrapped:
        lines = block.splitlines()
        if lines and _TEST_DEF.match(lines[0]):
            return dedent_code("\n".join(lines[1:])).strip("\n")
    return block


def _add_imports(source: str, statements: list[str]) -> str:
    """``source`` with import statements added after its last top-level import."""
    lines = source.splitlines()
    try:
        tree = ast.parse(make_plain(source).code)
        ends = [
            node.end_lineno or node.lineno
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))
        ]
    except SyntaxError:
        ends = []
    if ends:
        at = max(ends)
    else:
        at = 0
        while at < len(lines) and lines[at].lstrip().startswith("#"):
            at += 1
    new = lines[:at] + statements + lines[at:]
    text = "\n".join(new)
    return text + "\n" if source.endswith("\n") else text


def _remove_role(raw: dict[str, Any], info: _CellInfo) -> None:
    """Take a cell's export or test role away (its tag or directive), keeping its code."""
    tags = raw.get("metadata", {}).get("tags")
    if isinstance(tags, list):
        kept = [t for t in tags if t not in ("export", "exporti", "test")]
        if kept:
            raw["metadata"]["tags"] = kept
        else:
            del raw["metadata"]["tags"]
    drop = {d.line for d in info.cell.directives if d.name in _ROLE_DIRECTIVES}
    if drop:
        lines = info.cell.source.splitlines()
        text = "\n".join(
            line for number, line in enumerate(lines, 1) if number not in drop
        )
        _set_source(raw, text + ("\n" if info.cell.source.endswith("\n") else ""))


def _source(raw: dict[str, Any]) -> str:
    source = raw.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _set_source(raw: dict[str, Any], text: str) -> None:
    # Keep the representation the file had (nbformat writes a list of lines).
    if isinstance(raw.get("source"), list):
        raw["source"] = text.splitlines(keepends=True)
    else:
        raw["source"] = text


# -- notebook JSON, written back in its own style -------------------------------


def _json_style(text: str, data: Any) -> dict[str, Any] | None:
    """The ``json.dumps`` settings that reproduce ``text`` exactly, if any do.

    Writing the notebook back in its own style keeps its git diff to the cells
    that changed.
    """
    for indent in (1, 2, 4, None):
        for sort_keys in (True, False):
            for ensure_ascii in (False, True):
                style = {
                    "indent": indent,
                    "sort_keys": sort_keys,
                    "ensure_ascii": ensure_ascii,
                }
                dumped = json.dumps(data, **style)  # type: ignore[arg-type]
                if text in (dumped, dumped + "\n"):
                    return {**style, "newline": text.endswith("\n")}
    return None


def _dump_notebook(data: Any, style: dict[str, Any] | None) -> str:
    if style is None:
        # nbformat's own style (what JupyterLab writes)
        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    text = json.dumps(
        data,
        indent=style["indent"],
        sort_keys=style["sort_keys"],
        ensure_ascii=style["ensure_ascii"],
    )
    return text + "\n" if style["newline"] else text


# -- atomic writes of several files ---------------------------------------------


def _write_together(items: list[tuple[Path, str]]) -> list[bool]:
    """Write several files so that either all change or none does.

    Every new text goes to a temporary file first; then the files are replaced
    one by one, and if any replacement fails the ones already replaced get
    their old content back. Unchanged files are skipped.
    """
    plans: list[tuple[Path, bytes, bytes | None, str | None]] = []
    try:
        for path, text in items:
            data = text.encode("utf-8")
            try:
                old: bytes | None = path.read_bytes()
            except FileNotFoundError:
                old = None
            staged = stage_write(path, data)
            plans.append((path, data, old, str(staged) if staged else None))
    except BaseException:
        for *_, pending in plans:
            if pending:
                Path(pending).unlink(missing_ok=True)
        raise
    done: list[tuple[Path, bytes | None]] = []
    try:
        for path, _, previous, pending in plans:
            if pending is None:
                continue
            os.replace(pending, path)
            done.append((path, previous))
    except BaseException:
        for path, previous in reversed(done):
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(previous)
        for *_, pending in plans:
            if pending:
                Path(pending).unlink(missing_ok=True)
        raise
    return [pending is not None for *_, pending in plans]


# -- the sync of one notebook ---------------------------------------------------


def _normal(code: str, mode: black.Mode) -> str:
    """Code as black writes it, for comparing edits that differ only in layout."""
    try:
        return black.format_str(code.strip("\n") + "\n", mode=mode).strip("\n")
    except black.InvalidInput:
        return code.strip("\n")


def _diff(before: str, after: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            (before.rstrip("\n") + "\n").splitlines(keepends=True) if before else [],
            (after.rstrip("\n") + "\n").splitlines(keepends=True) if after else [],
            fromfile=old,
            tofile=new,
        )
    )


def _without_imports(code: str) -> str:
    """Code without its top-level import lines (export hoists them)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    skip: set[int] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return "\n".join(
        line for number, line in enumerate(code.splitlines(), 1) if number not in skip
    ).strip("\n")


class _NotebookSyncer:
    """Decides and (unless checking) writes the sync of one notebook."""

    def __init__(
        self,
        path: Path,
        config: ProjectConfig,
        manifest: Manifest,
        prefer: Prefer | None,
        allow_delete: bool,
    ) -> None:
        self.path = path
        self.config = config
        self.manifest = manifest
        self.prefer = prefer
        self.allow_delete = allow_delete
        self.name = config.relpath(path)
        self.mode = black_mode(config.root)
        self.result = NotebookSync(self.name)

    # -- reading -----------------------------------------------------------

    def _read(self) -> None:
        try:
            self.text = self.path.read_text("utf-8")
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
            raise NotebookError(
                "cannot read the notebook", Location(self.name)
            ) from None
        self.nb = parse_notebook(self.text, self.name)
        self.raw = json.loads(self.text)
        self.style = _json_style(self.text, self.raw)
        self.cells = classify_cells(self.nb, self.name)
        self.by_key = {_block_key(c.cell_id, c.index): c for c in self.cells}
        self.plan = plan_notebook(self.path, self.config, self.nb)

    def _generated(self) -> list[tuple[str, str]]:
        """The notebook's generated modules and tests: (relpath, kind)."""
        entry = self.manifest.notebooks.get(self.name)
        if entry:
            listed = [(str(p), str(k)) for p, k in entry.get("files", [])]
        else:
            listed = [(self.config.relpath(f.path), f.kind) for f in self.plan.files]
        return [(p, k) for p, k in listed if k in ("module", "tests")]

    def _base(self, relpath: str, rendered: GeneratedFile | None) -> str | None:
        digest = self.manifest.files.get(relpath)
        base = read_base(self.config, digest)
        # Exported before bases were kept: the notebook's own render is the
        # base when it is exactly what export last wrote.
        if base is None and rendered is not None and _sha(rendered.content) == digest:
            base = rendered.content
        if base is None:
            self.result.notes.append(
                f"{relpath}: no record of what export last wrote (a fresh clone?): "
                "a block that differs from its cell counts as changed on both sides"
            )
        return base

    # -- deciding ----------------------------------------------------------

    def _untouched(self) -> bool:
        """True when every generated file is as export last wrote it (no planning needed)."""
        entry = self.manifest.notebooks.get(self.name)
        if not entry:
            return False
        for relpath, kind in entry.get("files", []):
            if kind not in ("module", "tests"):
                continue
            try:
                data = (self.config.root / relpath).read_bytes()
            except FileNotFoundError:
                return False
            if hashlib.sha256(data).hexdigest() != self.manifest.files.get(relpath):
                return False
        return True

    def run(self, check: bool) -> NotebookSync:
        if self._untouched():
            # the common case (CI, pre-commit): nothing edited, nothing to plan
            return self.result
        self._read()
        rendered = {self.config.relpath(f.path): f for f in self.plan.files}
        infos = {c.index: _cell_info(c) for c in self.cells}
        #: new source per cell index
        sources: dict[int, str] = {}
        origins: dict[int, tuple[str, int]] = {}
        untag: list[tuple[int, str, int]] = []
        added_imports: dict[str, list[tuple[str, int]]] = {}
        edited: list[tuple[str, str, _Parsed]] = []
        #: (file, block key) of the blocks whose code goes into their cell
        taken: set[tuple[str, str]] = set()
        deleted: list[tuple[Cell, str, int]] = []
        for relpath, kind in self._generated():
            try:
                disk = (self.config.root / relpath).read_text("utf-8")
            except FileNotFoundError:
                if self.name in self.manifest.notebooks:
                    self.result.notes.append(
                        f"{relpath} is missing: export writes it again"
                    )
                continue
            new_render = rendered.get(relpath)
            base = self._base(relpath, new_render)
            digest = self.manifest.files.get(relpath)
            if (base is not None and disk == base) or (
                digest is not None and _sha(disk) == digest
            ):
                continue
            if not disk.startswith(HEADER_MARK) and digest is None:
                continue  # a file of the user's, not one nbprod wrote
            if not self.plan.ok:
                problem = next(p for p in self.plan.problems if p.severity == "error")
                raise UnmappableEditError(
                    f"{relpath} has hand edits, but the notebook does not export now: "
                    f"{problem.message}",
                    problem.location,
                    "fix the notebook first (export shows every problem), then sync",
                )
            parsed = _parse_file(disk, relpath, self.name)
            base_parsed = _parse_file(base, relpath, self.name) if base else None
            render_parsed = (
                _parse_file(new_render.content, relpath, self.name)
                if new_render
                else None
            )
            edited.append((relpath, kind, parsed))
            self._preamble(
                relpath, kind, parsed, base_parsed, render_parsed, added_imports
            )
            reference = base_parsed or render_parsed
            keys = list(
                dict.fromkeys((reference.order if reference else []) + parsed.order)
            )
            for key in keys:
                cell = self.by_key.get(key)
                block = parsed.blocks.get(key)
                base_block = base_parsed.blocks.get(key) if base_parsed else None
                base_text = base_block.text if base_block else None
                nb_block = render_parsed.blocks.get(key) if render_parsed else None
                nb_text = nb_block.text if nb_block else None
                if cell is None:
                    if block is None or (
                        base_text is not None and block.text == base_text
                    ):
                        continue  # the cell was deleted in the notebook: export drops it
                    raise UnmappableEditError(
                        f"the block of cell {key} has no cell in {self.name} any more",
                        Location(relpath, line=block.line),
                        "move its code into a cell of the notebook, or drop it "
                        "with a forced export",
                        actions=("force_export",),
                    )
                if block is None:
                    if base_parsed is not None and base_text is None:
                        continue  # a cell exported since: export writes its block
                    was = base_block or nb_block
                    deleted.append((cell, relpath, was.line if was else 1))
                    continue
                if base_parsed is not None and base_text is None:
                    raise UnmappableEditError(
                        f"a block for cell {key}, which the last export did not write",
                        Location(relpath, line=block.line),
                        "tag the cell in the notebook and put the code there, or "
                        "remove the block",
                    )
                module_changed = base_text is None or block.text != base_text
                notebook_changed = base_parsed is None or nb_text != base_text
                if not module_changed or block.text == nb_text:
                    continue
                if notebook_changed and self.prefer != "module":
                    if self.prefer == "notebook":
                        continue
                    self._conflict(cell, relpath, block, base_text, nb_text)
                    continue
                wrapped = bool(
                    kind == "tests"
                    and any(
                        _TEST_DEF.match(t.splitlines()[0])
                        for t in (base_text, nb_text)
                        if t
                    )
                )
                code = _code_of_block(block.text, wrapped)
                info = infos[cell.index]
                sources[cell.index] = _compose(info, _without_cell_imports(info, code))
                origins[cell.index] = (relpath, block.line)
                taken.add((relpath, key))
        if self.result.conflicts:
            self.result.status = "conflict"
            self.result.error = SyncConflictError(
                f"{len(self.result.conflicts)} cell(s) changed both in the notebook "
                "and in the generated files since the last export",
                Location(self.name),
                "settle it by preferring the module's or the notebook's side, or "
                "make the two sides agree by hand",
                actions=("prefer_module", "prefer_notebook"),
            )
            return self.result
        for cell, relpath, line in deleted:
            if not self.allow_delete:
                self.result.status = "refused"
                self.result.error = SyncConflictError(
                    f"the block of cell {cell.index + 1} (id {cell.cell_id}, "
                    f"`{_first_line(cell.source)}`) was deleted from {relpath}",
                    cell.location(self.name),
                    "allow deletions to take the cell's export role away, or "
                    "restore the block",
                    actions=("allow_delete",),
                )
                return self.result
            untag.append((cell.index, relpath, line))
        if not edited:
            return self.result
        return self._apply(
            check, infos, sources, origins, untag, added_imports, edited, taken
        )

    def _preamble(
        self,
        relpath: str,
        kind: str,
        parsed: _Parsed,
        base: _Parsed | None,
        render: _Parsed | None,
        added: dict[str, list[tuple[str, int]]],
    ) -> None:
        """Decide the file's header, docstring, imports and ``__all__``."""
        reference = base or render
        if reference is None:
            return
        if parsed.comments != reference.comments:
            self.result.notes.append(
                f"{relpath}: the generated header is regenerated, not synced"
            )
        if parsed.docstring != reference.docstring:
            where = (
                "the notebook's first markdown cell"
                if kind == "module"
                else "the notebook's name"
            )
            self.result.notes.append(
                f"{relpath}: the module docstring is regenerated from {where}, "
                "not synced"
            )
        if parsed.all_names != reference.all_names:
            self.result.notes.append(
                f"{relpath}: `__all__` is regenerated from the exported cells, not synced"
            )
        new = [s for s in parsed.imports if s not in reference.imports]
        new = [s for s in new if not s.startswith("from __future__")]
        if new:
            added.setdefault(relpath, []).extend((s, parsed.imports[s]) for s in new)
        gone = [s for s in reference.imports if s not in parsed.imports]
        if gone:
            self.result.notes.append(
                f"{relpath}: removed import(s) {', '.join(f'`{s}`' for s in gone)} "
                "are regenerated from the cells that use them, not synced"
            )

    def _conflict(
        self,
        cell: Cell,
        relpath: str,
        block: _Block,
        base_text: str | None,
        nb_text: str | None,
    ) -> None:
        if base_text is None:
            module_diff = _diff(nb_text or "", block.text, "notebook", relpath)
            notebook_diff = ""
        else:
            module_diff = _diff(base_text, block.text, "last export", relpath)
            notebook_diff = _diff(base_text, nb_text or "", "last export", self.name)
        self.result.conflicts.append(
            Conflict(
                cell.index,
                cell.cell_id,
                _first_line(cell.source),
                relpath,
                block.line,
                module_diff,
                notebook_diff,
            )
        )

    # -- the imports cell ----------------------------------------------------

    def _imports_target(self, kind: str, module: str | None) -> Cell | None:
        """The cell the file's imports come from: the first one holding imports."""
        for cell in self.cells:
            if cell.role is Role.PARAMETERS:
                continue
            if kind == "tests" and cell.role not in (Role.TEST, Role.NONE):
                continue
            if kind == "module" and cell.role.exported and cell.module != module:
                continue
            if kind == "module" and cell.role is Role.TEST:
                continue
            if _cell_info(cell).imports:
                return cell
        return None

    def _module_of(self, relpath: str) -> str | None:
        """The module (relative to the package, None for the notebook's own) of a file."""
        own = self.plan.module.split(".", 1)[1] if "." in self.plan.module else ""
        for file in self.plan.files:
            if self.config.relpath(file.path) == relpath and file.kind == "module":
                dotted = (
                    file.path.relative_to(self.config.package_dir)
                    .with_suffix("")
                    .as_posix()
                    .replace("/", ".")
                )
                return None if dotted == own else dotted
        return None

    def _new_imports_cell(
        self, raw_cells: list[dict[str, Any]], kind: str, module: str | None, code: str
    ) -> int:
        """Insert a new exported (or test) cell holding ``code`` at the top of its
        cells; return its index."""
        if kind == "tests":
            members = [c for c in self.cells if c.role is Role.TEST]
        else:
            members = [c for c in self.cells if c.role.exported and c.module == module]
        at = members[0].index if members else len(raw_cells)
        uses_directives = bool(members) and any(
            d.name in _ROLE_DIRECTIVES for d in members[0].directives
        )
        role = "test" if kind == "tests" else "export"
        tags: list[str] = []
        if uses_directives or module:
            directive = f"#| {role}" + (f" {module}" if module else "")
            code = f"{directive}\n{code}"
        else:
            tags = [role]
        cell = nbformat.v4.new_code_cell(code)
        cell.pop("id", None)
        raw: dict[str, Any] = json.loads(json.dumps(cell))
        if self.nb.nbformat_minor >= 5:
            raw["id"] = uuid.uuid4().hex[:8]
        if tags:
            raw["metadata"]["tags"] = tags
        if isinstance(raw_cells[0].get("source") if raw_cells else [], list):
            raw["source"] = code.splitlines(keepends=True)
        raw_cells.insert(at, raw)
        return at

    # -- applying ------------------------------------------------------------

    def _apply(
        self,
        check: bool,
        infos: dict[int, _CellInfo],
        sources: dict[int, str],
        origins: dict[int, tuple[str, int]],
        untag: list[tuple[int, str, int]],
        added_imports: dict[str, list[tuple[str, int]]],
        edited: list[tuple[str, str, _Parsed]],
        taken: set[tuple[str, str]],
    ) -> NotebookSync:
        raw = copy.deepcopy(self.raw)
        raw_cells: list[dict[str, Any]] = raw["cells"]
        before = {c.index: c.source for c in self.cells}
        for index, text in sources.items():
            _set_source(raw_cells[index], text)
        for index, _, _ in untag:
            _remove_role(raw_cells[index], infos[index])
        inserted: list[tuple[int, str, int]] = []
        kinds = {relpath: kind for relpath, kind, _ in edited}
        for relpath, statements in added_imports.items():
            kind = kinds[relpath]
            module = self._module_of(relpath) if kind == "module" else None
            target = self._imports_target(kind, module)
            texts = [s for s, _ in statements]
            line = statements[0][1]
            if target is None:
                at = self._new_imports_cell(raw_cells, kind, module, "\n".join(texts))
                inserted.append((at, relpath, line))
                continue
            index = target.index + sum(at <= target.index for at, _, _ in inserted)
            current = _source(raw_cells[index])
            _set_source(raw_cells[index], _add_imports(current, texts))
            origins.setdefault(target.index, (relpath, line))
        new_text = _dump_notebook(raw, self.style)
        new_nb = parse_notebook(new_text, self.name)
        new_plan = plan_notebook(self.path, self.config, new_nb)
        if not new_plan.ok:
            problem = next(p for p in new_plan.problems if p.severity == "error")
            raise UnmappableEditError(
                f"the edits would not export from the notebook: {problem.message}",
                problem.location,
                "make the generated code self-contained (every name defined or "
                "imported), or move the edit into the notebook by hand",
            )
        self._verify(edited, new_plan, taken)
        self._imports_kept(added_imports, new_plan)
        self._changes(raw_cells, before, origins, untag, inserted)
        for note in (p for p in new_plan.problems if p.severity != "error"):
            if "left out" in note.message and "import" in note.message:
                self.result.notes.append(f"{note.location}: {note.message}")
        stale = [
            f
            for f in new_plan.files
            if not f.create_only
            and (not f.path.exists() or f.path.read_text("utf-8") != f.content)
        ]
        if not self.result.changes and not stale:
            return self.result
        if check:
            # only cells count: regenerating a file alone is export's business
            self.result.status = "pending" if self.result.changes else "unchanged"
            return self.result
        generated = [
            file
            for file in new_plan.files
            if not (file.create_only and file.path.exists())
        ]
        key = notebook_key(new_text.encode(), self.config)
        # the caller holds the project's export lock
        # the manifest is written with the files, so a failure leaves it
        # agreeing with them
        manifest = Manifest(self.config)
        files = [
            FileResult(self.config.relpath(f.path), f.kind, "written")
            for f in new_plan.files
        ]
        record_notebook(manifest, self.config, new_plan, key, files)
        writes = [(self.path, new_text)]
        writes += [(file.path, file.content) for file in generated]
        writes.append((manifest.path, manifest.text()))
        written = dict(
            zip(
                [path for path, _ in writes],
                _write_together(writes),
                strict=True,
            )
        )
        prune_bases(self.config, manifest)
        for result in files:
            if not written.get(self.config.root / result.path, False):
                result.status = "unchanged"
        self.result.files = files
        self.result.status = "synced"
        return self.result

    def _verify(
        self,
        edited: list[tuple[str, str, _Parsed]],
        plan: ExportPlan,
        taken: set[tuple[str, str]],
    ) -> None:
        """Refuse when the notebook, re-exported, would not keep an edit taken
        from a generated file (``taken``: its (file, block key) pairs)."""
        rendered = {self.config.relpath(f.path): f.content for f in plan.files}
        for relpath, kind, parsed in edited:
            content = rendered.get(relpath)
            if content is None:
                raise UnmappableEditError(
                    f"after the sync the notebook would no longer write {relpath}",
                    Location(relpath),
                    "restore the blocks whose cells should keep their role",
                )
            after = _parse_file(content, relpath, self.name)
            for key, block in parsed.blocks.items():
                if (relpath, key) not in taken:
                    continue
                if key not in after.blocks:
                    if self.allow_delete:
                        continue
                    raise UnmappableEditError(
                        f"the block of cell {key} would be dropped by the next export",
                        Location(relpath, line=block.line),
                        "the cell exports nothing with this code: move it into the "
                        "notebook by hand",
                    )
                mine = _normal(_without_imports(block.text), self.mode)
                theirs = _normal(_without_imports(after.blocks[key].text), self.mode)
                if mine == theirs:
                    continue
                mine_lines, theirs_lines = mine.splitlines(), theirs.splitlines()
                if (
                    kind == "tests"
                    and mine_lines[1:] == theirs_lines[1:]
                    and mine_lines
                    and _TEST_DEF.match(mine_lines[0])
                ):
                    self.result.notes.append(
                        f"{relpath}, line {block.line}: the test's name comes from "
                        "its cell's leading comment: regenerated, not synced"
                    )
                    continue
                offset = next(
                    (
                        n
                        for n, (a, b) in enumerate(
                            zip(mine_lines, theirs_lines, strict=False)
                        )
                        if a != b
                    ),
                    min(len(mine_lines), len(theirs_lines)),
                )
                shown = mine_lines[offset] if offset < len(mine_lines) else ""
                raise UnmappableEditError(
                    "this edit cannot be kept by the notebook cell (the next export "
                    f"would write it otherwise): `{shown.strip()}`",
                    Location(relpath, line=block.line + 1 + offset),
                    "make the change in the notebook cell instead, or drop it with "
                    "a forced export",
                    actions=("force_export",),
                )

    def _imports_kept(
        self, added: dict[str, list[tuple[str, int]]], plan: ExportPlan
    ) -> None:
        """Say so when an import added to a file is one the next export leaves out."""
        rendered = {self.config.relpath(f.path): f.content for f in plan.files}
        for relpath, statements in added.items():
            content = rendered.get(relpath)
            after = _parse_file(content, relpath, self.name) if content else None
            for statement, line in statements:
                if after is None or statement not in after.imports:
                    self.result.notes.append(
                        f"{relpath}, line {line}: `{statement}` goes into the "
                        "notebook, but export leaves it out of the file: no code "
                        "there uses it"
                    )

    def _changes(
        self,
        raw_cells: list[dict[str, Any]],
        before: dict[int, str],
        origins: dict[int, tuple[str, int]],
        untag: list[tuple[int, str, int]],
        inserted: list[tuple[int, str, int]],
    ) -> None:
        shift = sorted(at for at, _, _ in inserted)
        untagged = {index for index, _, _ in untag}

        def now(index: int) -> int:
            return index + sum(at <= index + 0 for at in shift)

        for index, (relpath, line) in sorted(origins.items()):
            old = before[index]
            raw = raw_cells[now(index)]
            new = _source(raw)
            if new == old and index not in untagged:
                continue
            self.result.changes.append(
                CellChange(
                    now(index),
                    raw.get("id"),
                    "update",
                    _first_line(old),
                    _diff(old, new, f"{self.name} cell {index + 1} (before)", "after"),
                    new,
                    relpath,
                    line,
                )
            )
        for index, relpath, line in untag:
            raw = raw_cells[now(index)]
            self.result.changes.append(
                CellChange(
                    now(index),
                    raw.get("id"),
                    "untag",
                    _first_line(before[index]),
                    _diff(before[index], _source(raw), "before", "after"),
                    _source(raw),
                    relpath,
                    line,
                )
            )
        for at, relpath, line in inserted:
            raw = raw_cells[at]
            new = _source(raw)
            self.result.changes.append(
                CellChange(
                    at,
                    raw.get("id"),
                    "insert",
                    _first_line(new),
                    _diff("", new, "/dev/null", f"{self.name} cell {at + 1}"),
                    new,
                    relpath,
                    line,
                )
            )
        self.result.changes.sort(key=lambda c: c.index)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sync_notebooks(
    config: ProjectConfig,
    paths: Iterable[Path | str] = (),
    *,
    check: bool = False,
    prefer: Prefer | None = None,
    allow_delete: bool = False,
) -> SyncResult:
    """Bring hand edits of generated modules and tests back into their notebooks.

    Parameters
    ----------
    config : ProjectConfig
        The project.
    paths : iterable of Path or str
        Notebooks or folders; all notebooks of the project when empty.
    check : bool
        Write nothing; report the cells a sync would change (``pending``).
    prefer : {"module", "notebook"}, optional
        How to settle a cell changed on both sides: take the generated file's
        block, or keep the cell. Without it such a notebook is refused.
    allow_delete : bool
        Let a block deleted from a generated file take its cell's export (or
        test) role away; without it the notebook is refused.

    Returns
    -------
    SyncResult
        Per notebook: the cells changed, conflicts, notes, files rewritten,
        or why it was refused (nothing of a refused notebook is written).
    """
    result = SyncResult(check=check)
    for path in find_notebooks(config, paths):
        try:
            # Under the export lock from reading the base to writing: an export
            # (or another sync) in between would change what the base is.
            with project_lock(config, "export"):
                syncer = _NotebookSyncer(
                    Path(path), config, Manifest(config), prefer, allow_delete
                )
                result.notebooks.append(syncer.run(check))
        except UnmappableEditError as exc:
            syncer.result.status = "refused"
            syncer.result.error = exc
            syncer.result.changes = []
            result.notebooks.append(syncer.result)
        except NbprodError as exc:
            result.errors.append(exc)
    return result


__all__ = [
    "CellChange",
    "Conflict",
    "NotebookSync",
    "SyncResult",
    "sync_notebooks",
]
