"""A small git wrapper: the git command line driven with argument lists, never a shell.

Branch names, messages and paths reach git exactly as the user wrote them:
every call is a list of arguments (no shell, so ``$(…)`` and quotes are plain
text), paths come after ``--``, messages go through stdin, and remote names
after ``--end-of-options``. Everything git prints passes through
:func:`redact_url` before it reaches an error message, so a password or token
embedded in a remote URL is never shown.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nbprod.errors import GitError

#: the blob id a working-tree file gets once cleaned by its filter (nbstripout: a
#: Python process, 2 s of start-up each), by everything that decides it: the
#: file's stat, its filter attribute and the filter drivers' configuration. The
#: ship preview asks on every save and focus; only changed files pay again.
_CLEAN_IDS: dict[tuple[object, ...], str] = {}
_CLEAN_IDS_LOCK = threading.Lock()
#: a file changed this recently can change again within the clock's resolution
#: without its stat changing (git's "racily clean" entries): never remembered
_RACY_SECONDS = 2.0
_CLEAN_IDS_MAX = 4096

# scheme://userinfo@host: userinfo may hold a password or a token
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s'\"]+)@"
)


def redact_url(text: str) -> str:
    """Hide credentials embedded in URLs anywhere in ``text``.

    ``https://user:s3cret@host/repo.git`` becomes ``https://***@host/repo.git``:
    the whole userinfo goes, since a token is often passed as the user name.

    Parameters
    ----------
    text : str
        A URL, or any text that may contain URLs (git's stderr).

    Returns
    -------
    str
        The text with every ``scheme://userinfo@`` replaced by ``scheme://***@``.
    """
    return _USERINFO.sub(r"\g<scheme>***@", text)


@dataclass(frozen=True)
class GitResult:
    """What one git command returned (output already redacted)."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when git exited with 0."""
        return self.returncode == 0


@dataclass(frozen=True)
class IgnoreRule:
    """The ignore-file line that makes git ignore a path."""

    source: str
    line: int
    pattern: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.pattern}"


def _last_lines(text: str, count: int = 6) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:])


class Git:
    """Run git commands in one working tree.

    Parameters
    ----------
    cwd : Path
        A folder inside the working tree; git runs there.
    """

    def __init__(self, cwd: Path) -> None:
        self.cwd = Path(cwd)

    def env(self) -> dict[str, str]:
        """The environment of every git call: no prompts, English messages."""
        env = dict(os.environ)
        # Never wait for a password on a terminal nobody may be watching (the
        # server runs pushes in the background): fail fast with a message;
        # credential helpers and SSH agents still work. C locale so the
        # messages parsed for hints are git's English ones.
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["LC_ALL"] = "C"
        # Readers (status in the Ship panel, the dirty flag of every run) must
        # not write the index: `git status` refreshes it opportunistically and
        # holds index.lock meanwhile, so a push's `git add` at that moment
        # failed with "index.lock: File exists". Writers hold nbprod's git lock.
        env["GIT_OPTIONAL_LOCKS"] = "0"
        env.pop("LANGUAGE", None)
        return env

    def run(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        timeout: float | None = 600,
    ) -> GitResult:
        """Run ``git ARGS`` and return its redacted output.

        Parameters
        ----------
        *args : str
            The arguments after ``git``, each passed literally.
        check : bool
            Raise :class:`GitError` when git exits with an error.
        input : str, optional
            Text for git's stdin (commit messages).
        timeout : float, optional
            Seconds before giving up.

        Raises
        ------
        GitError
            When git is not installed, times out, or fails with ``check``.
        """
        command = ["git", "-c", "core.quotepath=false", *args]
        try:
            proc = subprocess.run(
                command,
                cwd=self.cwd,
                input=(input or "").encode("utf-8"),
                capture_output=True,
                env=self.env(),
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise GitError(
                "git is not installed (no `git` on PATH)",
                hint="install git, e.g. `apt-get install git`",
            ) from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} did not finish in {timeout:.0f}s") from None
        result = GitResult(
            tuple(args),
            proc.returncode,
            redact_url(proc.stdout.decode("utf-8", "replace")),
            redact_url(proc.stderr.decode("utf-8", "replace")),
        )
        if check and not result.ok:
            detail = _last_lines(result.stderr or result.stdout)
            raise GitError(f"git {args[0]} failed: {detail or 'no message'}")
        return result

    # -- reading -----------------------------------------------------------

    def toplevel(self) -> Path | None:
        """The root of the working tree, or None outside a repository."""
        result = self.run("rev-parse", "--show-toplevel", check=False)
        return Path(result.stdout.strip()) if result.ok else None

    def head(self) -> str | None:
        """The commit checked out, or None in a repository without commits."""
        result = self.run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return result.stdout.strip() or None if result.ok else None

    def current_branch(self) -> str | None:
        """The branch checked out, or None when HEAD is detached."""
        result = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return result.stdout.strip() or None if result.ok else None

    def remote_url(self, remote: str) -> str | None:
        """The (redacted) URL of ``remote``, or None when there is no such remote."""
        result = self.run("remote", "get-url", "--", remote, check=False)
        return result.stdout.strip() or None if result.ok else None

    def valid_branch(self, branch: str) -> bool:
        """True when ``branch`` can name a branch on a remote (``refs/heads/<branch>``)."""
        if not branch:
            return False
        return self.run("check-ref-format", f"refs/heads/{branch}", check=False).ok

    def status(self) -> str:
        """``git status --porcelain`` of the whole tree (untracked files included)."""
        return self.run("status", "--porcelain", "--untracked-files=all").stdout

    def ignored(self, paths: Iterable[str]) -> set[str]:
        """The subset of ``paths`` that ``.gitignore`` rules ignore (and are untracked)."""
        items = list(paths)
        if not items:
            return set()
        # --stdin with NUL separators: any path, however odd, goes through intact
        result = self.run(
            "check-ignore",
            "-z",
            "--stdin",
            check=False,
            input="\0".join(items) + "\0",
        )
        if result.returncode not in (0, 1):
            raise GitError(f"git check-ignore failed: {_last_lines(result.stderr)}")
        return {p for p in result.stdout.split("\0") if p}

    def ignore_rules(self, paths: Iterable[str]) -> dict[str, IgnoreRule]:
        """Why each of ``paths`` that git ignores is ignored (untracked paths only).

        Returns
        -------
        dict
            Path to the :class:`IgnoreRule` (file, line, pattern) that ignores
            it, as ``git check-ignore -v`` reports it; paths that are not
            ignored, or that a ``!pattern`` brings back, are left out.
        """
        items = list(paths)
        if not items:
            return {}
        result = self.run(
            "check-ignore",
            "-v",
            "-z",
            "--stdin",
            check=False,
            input="\0".join(items) + "\0",
        )
        if result.returncode not in (0, 1):
            raise GitError(f"git check-ignore failed: {_last_lines(result.stderr)}")
        # -z -v: source NUL line NUL pattern NUL path NUL, per ignored path
        fields = result.stdout.split("\0")
        rules: dict[str, IgnoreRule] = {}
        for i in range(0, len(fields) - 3, 4):
            source, line, pattern, path = fields[i : i + 4]
            if pattern.startswith("!"):
                continue  # matched a negation: the path is not ignored
            rules[path] = IgnoreRule(
                source, int(line) if line.isdigit() else 0, pattern
            )
        return rules

    def index_path(self) -> Path:
        """The path of the index file (to save and restore it around a commit)."""
        text = self.run("rev-parse", "--git-path", "index").stdout.strip()
        path = Path(text)
        return path if path.is_absolute() else self.cwd / path

    # -- writing -----------------------------------------------------------

    def add(self, paths: Sequence[str], *, update: bool = False) -> None:
        """Stage ``paths`` (``update``: only changes to files git already tracks)."""
        if not paths:
            return
        flags = ["--update"] if update else []
        self.run("add", *flags, "--", *paths)

    def add_renormalized(self, paths: Sequence[str]) -> None:
        """Stage ``paths``, passing tracked ones through their clean filters afresh.

        A file staged before the nbstripout filter existed, and unchanged
        since, would otherwise keep its outputs in the index: plain ``git
        add`` skips files whose stat matches the index. ``--renormalize`` only
        takes tracked files, so new ones get a plain add (which filters them).
        """
        if not paths:
            return
        listed = self.run("ls-files", "-z", "--", *paths).stdout.split("\0")
        tracked = set(filter(None, listed))
        self.add([p for p in paths if p not in tracked])
        if tracked:
            self.run("add", "--renormalize", "--", *[p for p in paths if p in tracked])

    def changed_through_filters(self, paths: Sequence[str]) -> list[str]:
        """Tracked ``paths`` whose content, cleaned by their filters, differs from the index.

        What ``add --renormalize`` would stage: ``git add --dry-run`` trusts
        file stats and misses a notebook staged before the nbstripout filter.
        Each file's cleaned id is remembered by its stat, filter attribute and
        the filter configuration, so asking again only runs the filter on
        files changed since; missing files are left out (not changed *through*
        a filter: deleted).
        """
        listed = self.run("ls-files", "-s", "-z", "--", *paths).stdout.split("\0")
        in_index = {}
        for entry in filter(None, listed):
            meta, path = entry.split("\t", 1)
            in_index[path] = meta.split()[1]
        stats = {}
        for p in paths:
            if p in in_index:
                try:
                    stats[p] = (self.cwd / p).stat()
                except OSError:
                    continue
        tracked = list(stats)
        if not tracked:
            return []
        attrs = self.run("check-attr", "-z", "filter", "--", *tracked).stdout.split(
            "\0"
        )
        # "path\0filter\0value\0" per path
        filters = {attrs[i]: attrs[i + 2] for i in range(0, len(attrs) - 2, 3)}
        drivers = self.run(
            "config", "-z", "--get-regexp", r"^filter\.", check=False
        ).stdout
        keys = {
            p: (
                str((self.cwd / p).resolve()),
                st.st_size,
                st.st_mtime_ns,
                st.st_ctime_ns,
                st.st_ino,
                filters.get(p, ""),
                drivers,
            )
            for p, st in stats.items()
        }
        with _CLEAN_IDS_LOCK:
            cleaned = {p: _CLEAN_IDS[k] for p, k in keys.items() if k in _CLEAN_IDS}
        missing = [p for p in tracked if p not in cleaned]
        if missing:
            # hash-object runs the clean filter (nbstripout) without writing anything
            hashes = self.run("hash-object", "--", *missing).stdout.split()
            settled = time.time() - _RACY_SECONDS
            with _CLEAN_IDS_LOCK:
                if len(_CLEAN_IDS) > _CLEAN_IDS_MAX:
                    _CLEAN_IDS.clear()  # old stats of files saved since
                for p, sha in zip(missing, hashes, strict=True):
                    cleaned[p] = sha
                    if stats[p].st_mtime < settled:
                        _CLEAN_IDS[keys[p]] = sha
        return [p for p in tracked if in_index[p] != cleaned[p]]

    def staged_files(self) -> list[str]:
        """Paths staged for the next commit."""
        result = self.run("diff", "--cached", "--name-only", "-z")
        return [p for p in result.stdout.split("\0") if p]

    def commit(self, message: str) -> str:
        """Commit what is staged with ``message`` exactly as given; return the sha.

        The message goes through stdin with ``--cleanup=verbatim``, so leading
        dashes, ``#`` lines, quotes and ``$(…)`` are kept byte for byte.
        """
        result = self.run(
            "commit",
            "--quiet",
            "--cleanup=verbatim",
            "--file=-",
            input=message,
            check=False,
        )
        if not result.ok:
            detail = _last_lines(result.stderr or result.stdout)
            # git says nothing when a pre-commit hook fails: the hook's own output is all
            hint = "git or a commit hook refused the commit: fix what it says above"
            if "tell me who you are" in detail.lower() or "user.email" in detail:
                hint = 'set your name: git config user.name "Your Name" && git config user.email you@example.com'
            raise GitError(f"git commit failed: {detail or 'no message'}", hint=hint)
        sha = self.head()
        assert sha is not None  # a commit was just made
        return sha


def python_command(module: str) -> list[str]:
    """The command that runs ``python -m module`` with nbprod's own interpreter."""
    return [sys.executable, "-m", module]
