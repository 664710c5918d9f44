"""File modes and locks: what nbprod writes can be read as a plain write's would.

On a shared JupyterHub volume (umask 002, a group of colleagues) the generated
modules, tests, output notebooks and nbprod's own state must be group-readable
and -writable as any file the user saves; replaced files keep their mode.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.run import write_notebook as write_run_notebook
from helpers.ship import write_notebook

from nbprod.config import load_config
from nbprod.errors import LockTimeoutError
from nbprod.files import write_atomic
from nbprod.locks import project_lock

UMASKS = [0o022, 0o002]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=UMASKS, ids=lambda m: f"umask{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_new_files_get_the_umask_mode(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "deep" / "new.py"

    assert write_atomic(path, "x = 1\n")

    assert mode(path) == 0o666 & ~umask
    assert path.read_text() == "x = 1\n"
    assert not list(path.parent.glob(".*.tmp")), "no temporary file left behind"


def test_replaced_files_keep_their_mode(tmp_path: Path, umask: int) -> None:
    private, shared = tmp_path / "private.json", tmp_path / "shared.py"
    private.write_text("{}")
    private.chmod(0o600)
    shared.write_text("old")
    shared.chmod(0o664)

    assert write_atomic(private, "{1}") and write_atomic(shared, b"new")

    assert mode(private) == 0o600 and mode(shared) == 0o664
    assert shared.read_bytes() == b"new"


def nbprod_command() -> list[str]:
    script = Path(sys.executable).with_name("nbprod")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nbprod"]


def nbprod(cwd: Path, umask: int, *args: str) -> None:
    proc = subprocess.run(
        [*nbprod_command(), *args],
        cwd=cwd,
        umask=umask,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("umask", UMASKS, ids=lambda m: f"umask{m:03o}")
def test_every_command_writes_plain_modes(tmp_path: Path, umask: int) -> None:
    """init, export and run, each in a process with the user's umask."""
    root = tmp_path / "shop"
    root.mkdir()
    (root / ".gitignore").write_text("*.csv\n")
    (root / ".gitignore").chmod(0o644)
    write_notebook(root)
    write_run_notebook(root / "jobs" / "job.ipynb", "n = 1", "m = n + 1")
    plain = 0o666 & ~umask

    nbprod(root, umask, "init", ".")
    nbprod(root, umask, "export")
    nbprod(root, umask, "run", "jobs/job.ipynb", "-p", "n", "2")

    # an existing file keeps its mode; everything new gets the umask's
    assert mode(root / ".gitignore") == 0o644
    config = load_config(root)
    written = [
        root / "pyproject.toml",
        root / ".gitattributes",
        root / ".pre-commit-config.yaml",
        root / ".github" / "workflows" / "nbprod.yml",
        config.package_dir / "__init__.py",
        config.package_dir / "orders.py",
        config.tests_dir / "test_orders.py",
        config.state_dir / "export.json",
        *config.runs_dir.rglob("*.ipynb"),
    ]
    assert len(written) == 9, "one output notebook"
    assert {p.relative_to(root).as_posix(): mode(p) for p in written} == {
        p.relative_to(root).as_posix(): plain for p in written
    }


def test_project_lock_excludes_threads_and_reenters(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with project_lock(config, "export"):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(30)
        with (
            pytest.raises(LockTimeoutError) as caught,
            project_lock(config, "export", timeout=0.2),
        ):
            pass
        assert str(caught.value) == (
            "another nbprod command has held the lock on the export manifest "
            "(.nbprod/export.json) for 0.2s (wait for it to finish, then try again)"
        )
        assert caught.value.exit_code == 1 and caught.value.type == "locked"
        # another name is another lock
        with project_lock(config, "git", timeout=0.2):
            pass
    finally:
        release.set()
        thread.join()
    # once released: taken, and taken again inside (re-entrant in one thread)
    with project_lock(config, "export", timeout=5), project_lock(config, "export", 5):
        pass


def test_project_lock_excludes_processes(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    script = (
        "import sys, time\n"
        "from nbprod.config import load_config\n"
        "from nbprod.locks import project_lock\n"
        "with project_lock(load_config(sys.argv[1]), 'git'):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        with (
            pytest.raises(LockTimeoutError, match="the git index"),
            project_lock(config, "git", timeout=0.2),
        ):
            pass
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.close()
        child.wait(30)
    # the child's lock went with it
    with project_lock(config, "git", timeout=30):
        pass
