"""The git wrapper: literal arguments, redaction, errors, reading a repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nbprod.errors import GitError
from nbprod.gitops.git import Git, redact_url


def _repo(path: Path) -> Git:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git = Git(path)
    git.run("config", "user.email", "t@example.com")
    git.run("config", "user.name", "T")
    return git


def test_redact_url_hides_credentials_only() -> None:
    assert redact_url("https://user:s3cret@host/r.git") == "https://***@host/r.git"
    assert "tok" not in redact_url("push to https://tok@github.com/o/r failed")
    assert redact_url("/srv/git/remote.git") == "/srv/git/remote.git"


def test_reading_a_fresh_repository(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    assert git.toplevel() == tmp_path.resolve()
    assert git.head() is None
    assert git.current_branch() == "main"
    assert git.remote_url("origin") is None
    assert git.valid_branch("feature/x") and not git.valid_branch("bad..name")
    assert Git(tmp_path.parent).toplevel() in (None, tmp_path.parent.resolve())


def test_commit_status_and_ignored_paths_with_odd_names(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    (tmp_path / ".gitignore").write_text("*.log\n")
    odd = "a file; rm -rf $HOME.py"
    (tmp_path / odd).write_text("x = 1\n")
    (tmp_path / "debug.log").write_text("noise\n")
    assert git.ignored([odd, "debug.log"]) == {"debug.log"}
    git.add([odd, ".gitignore"])
    assert sorted(git.staged_files()) == sorted([odd, ".gitignore"])
    commit = git.commit("first")
    assert git.head() == commit and len(commit) == 40
    assert git.status() == ""


def test_a_failing_git_command_is_one_line_without_credentials(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    with pytest.raises(GitError) as caught:
        git.run("push", "https://user:hunter2@127.0.0.1:9/r.git", "main", timeout=30)
    message = caught.value.message
    assert message.startswith("git push failed")
    assert "hunter2" not in message
    assert git.run("rev-parse", "--verify", "nope", check=False).returncode != 0
