"""Where a project's git repository stands: branch, remote, ahead/behind, changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod.gitops.git import Git


@dataclass
class RepositoryStatus:
    """The state the Ship panel shows before a push.

    Attributes
    ----------
    repository : bool
        False when the project is not in a git repository (then nothing else is set).
    branch : str or None
        The branch checked out (None when HEAD is detached).
    remote : str
        The remote ``nbprod push`` sends to.
    remote_url : str or None
        Its URL, credentials redacted; None when there is no such remote.
    ahead, behind : int or None
        Commits the branch has that its upstream lacks, and the reverse
        (None without an upstream).
    changed : list of dict
        ``{"path", "status"}`` per changed file, ``status`` as in ``git status --short``.
    """

    repository: bool
    branch: str | None = None
    remote: str = "origin"
    remote_url: str | None = None
    ahead: int | None = None
    behind: int | None = None
    changed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the status as a JSON-ready mapping."""
        return {
            "repository": self.repository,
            "branch": self.branch,
            "remote": self.remote,
            "remote_url": self.remote_url,
            "ahead": self.ahead,
            "behind": self.behind,
            "changed": self.changed,
        }


def repository_status(root: Path, remote: str = "origin") -> RepositoryStatus:
    """Read the git state of the project at ``root``.

    Parameters
    ----------
    root : Path
        The project folder.
    remote : str
        The remote pushes go to.

    Returns
    -------
    RepositoryStatus
        ``repository=False`` outside a git repository.
    """
    git = Git(root)
    if git.toplevel() is None:
        return RepositoryStatus(repository=False, remote=remote)
    status = RepositoryStatus(
        repository=True,
        branch=git.current_branch(),
        remote=remote,
        remote_url=git.remote_url(remote),
    )
    counts = git.run(
        "rev-list", "--left-right", "--count", "HEAD...@{upstream}", check=False
    )
    if counts.ok and len(counts.stdout.split()) == 2:
        ahead, behind = counts.stdout.split()
        status.ahead, status.behind = int(ahead), int(behind)
    for line in git.status().splitlines():
        if len(line) > 3:
            status.changed.append({"path": line[3:], "status": line[:2].strip()})
    return status
