"""``nbprod push``: export, run the gate, and only if it passes commit and push.

Nothing is half-done: when the export or the gate fails, the files the export
wrote are put back, nothing is staged or committed, and the working tree and
index are as they were. When the commit itself fails the index is restored.
Once a commit is made it is kept, even if the remote rejects the push.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.config import ProjectConfig
from nbprod.errors import (
    GateFailedError,
    GitError,
    IgnoredFilesError,
    NbprodError,
    PushRejectedError,
)
from nbprod.export import export_notebooks, find_notebooks
from nbprod.export.writer import MANIFEST_NAME
from nbprod.files import write_atomic
from nbprod.gate import GateReport, StepResult, require_project, run_gate
from nbprod.gitops.git import Git, GitResult, redact_url
from nbprod.gitops.strip import install_strip_filter
from nbprod.locks import project_lock

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore


@dataclass
class PushResult:
    """What ``nbprod push`` did (or, with ``dry_run``, would do).

    Attributes
    ----------
    remote, url, branch : str
        Where it pushed; the URL has any credentials redacted.
    files : list of str
        The files staged for the commit (``dry_run``: that would be): the
        notebooks, the generated files, nbprod's project files (pyproject,
        ignore and attribute files, hook and CI configuration) and changes to
        files git already tracks.
    commit : str or None
        The commit made (None when there was nothing to commit, or dry run).
    message : str
        The full commit message, trailer included.
    report : GateReport or None
        The gate's report (None for a dry run).
    pushed : bool
        True when the remote accepted the push.
    dry_run : bool
        True when nothing was done.
    exported : list of str
        Generated files the export wrote (``dry_run``: would write).
    ignored : list of str
        Notebooks and generated files left out because ``.gitignore`` ignores them.
    output : str
        What git push said (redacted).
    """

    remote: str
    url: str
    branch: str
    files: list[str] = field(default_factory=list)
    commit: str | None = None
    message: str = ""
    report: GateReport | None = None
    pushed: bool = False
    dry_run: bool = False
    exported: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    output: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready mapping."""
        return {
            "remote": self.remote,
            "url": self.url,
            "branch": self.branch,
            "files": self.files,
            "commit": self.commit,
            "message": self.message,
            "pushed": self.pushed,
            "dry_run": self.dry_run,
            "exported": self.exported,
            "ignored": self.ignored,
            "output": self.output,
            "report": self.report.to_dict() if self.report else None,
        }


class _Snapshot:
    """The bytes of files before the export writes them, to put them back."""

    def __init__(self, paths: list[Path]) -> None:
        self.saved: dict[Path, bytes | None] = {}
        for path in paths:
            self.saved[path] = path.read_bytes() if path.is_file() else None

    def restore(self) -> None:
        for path, data in self.saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, data)


def _compose_message(message: str, trailer: str) -> str:
    # the user's text stays as typed; the trailer goes in its own paragraph
    return f"{message.rstrip(chr(10))}\n\n{trailer}\n"


def _classify_rejection(result: GitResult, remote: str, branch: str) -> tuple[str, str]:
    text = result.stderr + result.stdout
    lower = text.lower()
    if "non-fast-forward" in lower or "fetch first" in lower or "[rejected]" in lower:
        return (
            f"the remote {remote!r} has commits on {branch!r} that are not here: "
            "push rejected (non-fast-forward)",
            f"get them first (`git pull --rebase {remote} {branch}`), then run "
            "`nbprod push` again; nbprod never force-pushes",
        )
    if (
        "authentication failed" in lower
        or "could not read username" in lower
        or "permission denied" in lower
        or "403" in lower
    ):
        return (
            f"the remote {remote!r} refused the credentials: push rejected",
            "check your access to the repository (credential helper, token or SSH key)",
        )
    if (
        "does not appear to be a git repository" in lower
        or "repository not found" in lower
        or "could not resolve host" in lower
        or "failed to connect" in lower
        or "unable to access" in lower
        or "connection refused" in lower
    ):
        detail = text.strip().splitlines()[-1] if text.strip() else ""
        return (
            f"cannot reach the remote {remote!r}: {detail}".rstrip(": "),
            f"check its URL (`git remote -v`) and your network, then run "
            f"`git push {remote} HEAD:{branch}` or `nbprod push` again",
        )
    if "hook declined" in lower or "pre-receive" in lower:
        return (
            f"a hook on the remote {remote!r} declined the push",
            "read the remote's message above and fix what it asks",
        )
    detail = "; ".join(text.strip().splitlines()[-3:]) or "no message"
    return (f"git push to {remote!r} failed: {detail}", "run `git push` to see why")


#: files ``nbprod init`` writes in the project folder
PROJECT_FILES = (
    "pyproject.toml",
    ".gitignore",
    ".gitattributes",
    ".pre-commit-config.yaml",
    ".github/workflows/nbprod.yml",
)


def _stage_paths(
    config: ProjectConfig, git: Git, generated: list[str]
) -> tuple[list[str], list[str]]:
    """The files to stage, and those .gitignore excludes.

    The notebooks, the generated files, and the project files ``nbprod init``
    writes (so the first push of a new project carries its configuration).
    """
    notebooks = [config.relpath(p) for p in find_notebooks(config) if p.is_file()]
    setup = [name for name in PROJECT_FILES if (config.root / name).is_file()]
    wanted = list(dict.fromkeys([*notebooks, *generated, *setup]))
    ignored = git.ignored(wanted)
    return [p for p in wanted if p not in ignored], sorted(ignored)


def push_project(
    config: ProjectConfig,
    message: str,
    *,
    remote: str | None = None,
    branch: str | None = None,
    dry_run: bool = False,
    store: HistoryStore | None = None,
    on_step: Callable[[str, StepResult | None], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> PushResult:
    """Export, run the gate, then commit and push, or change nothing.

    Parameters
    ----------
    config : ProjectConfig
        The project; ``config.push`` gives the remote, branch and whether
        notebook outputs are stripped from commits.
    message : str
        The commit message, kept exactly as given; a ``Nbprod-Gate`` trailer
        summarising the gate is added below it.
    remote, branch : str, optional
        Override ``config.push``; the branch defaults to the current one.
    dry_run : bool
        Change nothing; report what would be exported, committed and pushed.
        The gate does not run (``nbprod check`` runs it).
    store : HistoryStore, optional
        The history for the gate's smoke runs and report.
    on_step, on_progress : callable, optional
        Progress of the gate (see :func:`nbprod.gate.run_gate`).

    Returns
    -------
    PushResult
        The commit and where it went.

    Raises
    ------
    GateFailedError
        The gate failed: nothing was committed or pushed (exit code 1).
    HandEditedError
        A generated file was edited by hand: nothing was done (exit code 1).
    PushRejectedError
        The remote refused the push; the local commit is kept (exit code 1).
    IgnoredFilesError
        Git ignores notebooks or generated files the gate checks: nothing was
        done (exit code 2); the message names each file and its ignore rule.
    GitError
        Not a repository, no such remote, an invalid branch name, or the
        commit failed (index restored).
    """
    require_project(config)
    if not message.strip():
        raise NbprodError(
            "the commit message is empty", hint='pass one with -m "what changed"'
        )
    git = Git(config.root)
    if git.toplevel() is None:
        raise GitError(
            f"{config.root} is not in a git repository",
            hint="set the project up (init runs `git init`), then add a remote",
            actions=("init",),
        )
    remote = remote or config.push.remote
    # what is shown of the remote: someone may have written a URL with a token
    shown = redact_url(remote)
    url = git.remote_url(remote)
    if url is None:
        raise GitError(
            f"there is no git remote called {shown!r}",
            hint=f"add it with `git remote add {shown} URL`, or set tool.nbprod.push.remote",
        )
    branch = branch or config.push.branch or git.current_branch()
    if branch is None:
        raise GitError(
            "HEAD is detached, so there is no branch to push to",
            hint="check out a branch, name one to push to, or set tool.nbprod.push.branch",
        )
    if not git.valid_branch(branch):
        raise GitError(
            f"{branch!r} is not a valid branch name",
            hint="see `git help check-ref-format` for what a branch may be called",
        )
    result = PushResult(remote=shown, url=url, branch=branch, dry_run=dry_run)
    planned = export_notebooks(config, check=True)
    result.exported = [f.path for f in planned.stale]
    generated = [f.path for nb in planned.notebooks for f in nb.files]
    _refuse_ignored(config, git, generated)
    if dry_run:
        return _dry_run(config, git, result, generated, message)

    snapshot = _Snapshot(
        [config.root / p for p in result.exported] + [config.state_dir / MANIFEST_NAME]
    )
    try:
        _export_and_gate(config, result, store, on_step, on_progress)
        if config.push.strip_outputs:
            # only now: a refused push leaves even the repository's config alone
            install_strip_filter(git)
        # staging and committing under the project's git lock: a sync or a
        # second push staging at the same time would mix into this commit
        with project_lock(config, "git"):
            _stage_and_commit(config, git, result, generated, message, on_progress)
    except BaseException:
        # nothing was committed: put the export's files back
        snapshot.restore()
        raise
    if result.commit is None:
        result.commit = git.head()
        if result.commit is None:
            raise GitError(
                "nothing to commit and no commit to push",
                hint="add notebooks to the project first",
            )
    if on_progress:
        on_progress(f"git push {shown} {branch}")
    pushed = git.run(
        "push",
        "--porcelain",
        "--end-of-options",
        remote,
        f"HEAD:refs/heads/{branch}",
        check=False,
    )
    result.output = (pushed.stdout + pushed.stderr).strip()
    if not pushed.ok:
        problem, hint = _classify_rejection(pushed, shown, branch)
        made = (
            f"; your commit {result.commit[:12]} is kept locally"
            if result.files
            else ""
        )
        raise PushRejectedError(problem + made, hint, result.commit, result.report)
    result.pushed = True
    return result


def _export_and_gate(
    config: ProjectConfig,
    result: PushResult,
    store: HistoryStore | None,
    on_step: Callable[[str, StepResult | None], None] | None,
    on_progress: Callable[[str], None] | None,
) -> None:
    """Export and run the gate, filling ``result.report``; raise on any failure."""
    if on_progress:
        on_progress("export")
    # push forces nothing itself: a HandEditedError goes up as the export
    # raised it, with the export's remedies (sync, forced export)
    export_notebooks(config)
    report = run_gate(config, store=store, on_step=on_step, on_progress=on_progress)
    result.report = report
    if not report.ok:
        raise GateFailedError(report)


def _stage_and_commit(
    config: ProjectConfig,
    git: Git,
    result: PushResult,
    generated: list[str],
    message: str,
    on_progress: Callable[[str], None] | None = None,
) -> None:
    """Stage and commit, or put the index back as it was; the caller holds the git lock."""
    assert result.report is not None
    with tempfile.TemporaryDirectory(prefix="nbprod-push-") as tmp:
        index = git.index_path()
        saved_index = Path(tmp) / "index"
        if index.is_file():
            shutil.copy2(index, saved_index)
        try:
            paths, result.ignored = _stage_paths(config, git, generated)
            result.message = _compose_message(message, result.report.trailer())
            notebooks = [p for p in paths if p.endswith(".ipynb")]
            if config.push.strip_outputs:
                git.add_renormalized(notebooks)
                git.add([p for p in paths if p not in notebooks])
            else:
                git.add(paths)
            git.add(["."], update=True)
            result.files = git.staged_files()
            if result.files:
                if on_progress:
                    on_progress("git commit")
                result.commit = git.commit(result.message)
        except BaseException:
            if saved_index.is_file():
                shutil.copy2(saved_index, index)
            else:
                index.unlink(missing_ok=True)
            raise


def _refuse_ignored(config: ProjectConfig, git: Git, generated: list[str]) -> None:
    """Refuse, before anything is done, when git ignores files the gate checks.

    A commit made anyway would hold notebooks without their generated code (or
    the reverse): the remote would get something no gate ever passed.
    """
    notebooks = [config.relpath(p) for p in find_notebooks(config) if p.is_file()]
    rules = git.ignore_rules(dict.fromkeys([*notebooks, *generated]))
    if rules:
        raise IgnoredFilesError(rules)


def _dry_run(
    config: ProjectConfig,
    git: Git,
    result: PushResult,
    generated: list[str],
    message: str,
) -> PushResult:
    """Fill ``result`` with what a real push would stage, touching nothing."""
    existing = [p for p in generated if (config.root / p).exists()]
    paths, result.ignored = _stage_paths(config, git, existing)
    # Notebooks are left to changed_through_filters: `git add --dry-run` would
    # run their clean filter (nbstripout, a Python process each) on every
    # stat-dirty notebook twice more, and the preview asks on every save.
    notebooks = [p for p in paths if p.endswith(".ipynb")]
    tracked = set(filter(None, git.run("ls-files", "-z").stdout.split("\0")))
    tracked_notebooks = sorted(p for p in tracked if p.endswith(".ipynb"))
    would: list[str] = [p for p in notebooks if p not in tracked]
    would += [p for p in tracked_notebooks if not (config.root / p).exists()]
    others = [p for p in paths if p not in notebooks]
    for args in (others, [".", ":(exclude)*.ipynb"]):
        if not args:
            continue
        update = ["--update"] if args[0] == "." else []
        listed = git.run("add", "--dry-run", *update, "--", *args).stdout
        for line in listed.splitlines():
            # "add 'path'" / "remove 'path'"
            if "'" in line:
                would.append(line.split("'", 1)[1].rsplit("'", 1)[0])
    # every file the export will write, new or tracked: the commit holds what
    # export writes, not what is on disk now (git cannot see that change yet)
    ignored_exports = git.ignored(result.exported)
    new_files = [p for p in result.exported if p not in ignored_exports]
    already = git.staged_files()
    # the tracked notebooks `add --update .` and `add --renormalize` restage
    restaged = git.changed_through_filters(tracked_notebooks)
    result.files = sorted(set(would) | set(new_files) | set(already) | set(restaged))
    result.message = _compose_message(message, "Nbprod-Gate: (the gate runs first)")
    return result
