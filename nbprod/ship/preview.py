"""What the next push will commit, file by file, before anything is done.

:func:`preview_push` asks :func:`nbprod.ship.push.push_project` for its dry
run (the same staging rules, so the list is what push will stage), then adds a
status and a diff per file: a generated file export would rewrite is diffed
against what export will write; a notebook is diffed as cells (sources only,
outputs stripped, as the commit stores it); any other file as text.
"""

from __future__ import annotations

import difflib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from nbprod.config import ProjectConfig
from nbprod.export import export_notebooks
from nbprod.gitops.git import Git
from nbprod.gitops.strip import strip_filter_configured
from nbprod.ship.push import push_project

#: one preview at a time per process: `git add --dry-run` takes the index lock, and
#: the panel asks on save, export and focus at once
_PREVIEW_LOCK = threading.Lock()

#: beyond this many diff lines a file's diff is cut (the panel is no pager)
MAX_DIFF_LINES = 400


@dataclass(frozen=True)
class PreviewFile:
    """One file the commit will hold."""

    path: str
    #: ``added``, ``modified`` or ``deleted``
    status: str
    #: ``notebook``, ``text`` or ``binary``
    kind: str
    diff: str
    #: a generated file that export rewrites before the commit
    generated: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the file as a JSON-ready mapping."""
        return {
            "path": self.path,
            "status": self.status,
            "kind": self.kind,
            "diff": self.diff,
            "generated": self.generated,
        }


@dataclass
class PushPreview:
    """What ``nbprod push`` would do now."""

    files: list[PreviewFile] = field(default_factory=list)
    #: generated files export rewrites first (stale now)
    stale: list[str] = field(default_factory=list)
    #: the first push sets up the output-stripping filter in ``.git/config``
    configures_filter: bool = False
    remote: str = ""
    branch: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the preview as JSON."""
        return {
            "files": [f.to_dict() for f in self.files],
            "stale": self.stale,
            "configures_filter": self.configures_filter,
            "remote": self.remote,
            "branch": self.branch,
        }


def notebook_text(raw: str) -> list[str]:
    """Return a notebook as the lines a reviewer diffs: one block per cell, no outputs."""
    try:
        nb = json.loads(raw)
    except ValueError:
        return raw.splitlines()
    lines: list[str] = []
    for index, cell in enumerate(nb.get("cells", [])):
        source = cell.get("source", "")
        text = source if isinstance(source, str) else "".join(source)
        tags = cell.get("metadata", {}).get("tags") or []
        label = f" [{', '.join(tags)}]" if tags else ""
        lines.append(f"# cell {index + 1} ({cell.get('cell_type', 'code')}){label}")
        lines.extend(text.splitlines())
        lines.append("")
    return lines


def _unified(old: list[str], new: list[str], path: str) -> str:
    diff = list(
        difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", lineterm="", n=2)
    )
    if len(diff) > MAX_DIFF_LINES:
        cut = len(diff) - MAX_DIFF_LINES
        diff = [*diff[:MAX_DIFF_LINES], f"… {cut} more lines"]
    return "\n".join(diff)


def _head_text(git: Git, path: str) -> str | None:
    shown = git.run("show", f"HEAD:{path}", check=False)
    return shown.stdout if shown.ok else None


def preview_push(config: ProjectConfig) -> PushPreview:
    """Return the files the next push will commit, each with its status and diff.

    Parameters
    ----------
    config : ProjectConfig
        The project.

    Returns
    -------
    PushPreview
        The files (as push stages them), stale generated files, and whether
        the push will configure the output-stripping filter.

    Raises
    ------
    GitError
        Not a repository, no such remote or branch (as ``nbprod push`` would).
    """
    with _PREVIEW_LOCK:
        dry = push_project(config, "preview", dry_run=True)
        planned = export_notebooks(config, check=True)
    git = Git(config.root)
    stale = {f.path: f.diff for f in planned.stale}
    generated = {f.path for nb in planned.notebooks for f in nb.files}
    preview = PushPreview(
        stale=sorted(stale),
        configures_filter=config.push.strip_outputs
        and not strip_filter_configured(git),
        remote=dry.remote,
        branch=dry.branch,
    )
    for path in dry.files:
        head = _head_text(git, path)
        file = config.root / path
        is_generated = path in generated
        if stale.get(path):
            status = "added" if head is None else "modified"
            preview.files.append(
                PreviewFile(path, status, "text", stale[path] or "", is_generated)
            )
            continue
        if not file.exists():
            old = (head or "").splitlines()
            preview.files.append(
                PreviewFile(path, "deleted", "text", _unified(old, [], path), False)
            )
            continue
        try:
            new_text = file.read_text("utf-8")
        except UnicodeDecodeError:
            status = "added" if head is None else "modified"
            preview.files.append(PreviewFile(path, status, "binary", "", is_generated))
            continue
        status = "added" if head is None else "modified"
        if path.endswith(".ipynb"):
            old = notebook_text(head) if head is not None else []
            diff = _unified(old, notebook_text(new_text), path)
            preview.files.append(
                PreviewFile(path, status, "notebook", diff, is_generated)
            )
        else:
            old = head.splitlines() if head is not None else []
            diff = _unified(old, new_text.splitlines(), path)
            preview.files.append(PreviewFile(path, status, "text", diff, is_generated))
    return preview
