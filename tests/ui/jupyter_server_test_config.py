"""Jupyter server of the browser tests: galata's test setup on a fresh copy of examples/churn.

The copy lives in a new temporary folder for each test run (``NBPROD_UI_ROOT``
overrides it), is a git repository with one commit, and has a local bare
repository as its ``origin`` remote, so the ship tests push somewhere real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # type: ignore[name-defined]  # noqa: F821 (jupyter's config loader)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "churn"
GENERATED = {"src", "tests", "runs", ".nbprod", ".ipynb_checkpoints"}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def make_project() -> Path:
    """Copy the example into a new folder, commit it, and give it a bare ``origin``."""
    base = Path(
        os.environ.get("NBPROD_UI_ROOT") or tempfile.mkdtemp(prefix="nbprod-ui-")
    )
    project = base / "churn"
    remote = base / "remote.git"
    for path in (project, remote):
        if path.exists():
            shutil.rmtree(path)
    shutil.copytree(
        EXAMPLE,
        project,
        ignore=lambda folder, names: [n for n in names if n in GENERATED],
    )
    _git(base, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    _git(project, "init", "--quiet", "--initial-branch=main")
    _git(project, "config", "user.name", "nbprod UI tests")
    _git(project, "config", "user.email", "ui-tests@nbprod.invalid")
    _git(project, "add", "-A")
    _git(project, "commit", "--quiet", "-m", "churn example")
    _git(project, "remote", "add", "origin", str(remote))
    _git(project, "push", "--quiet", "origin", "main")
    (base / "ROOT").write_text(str(project))
    return project


configure_jupyter_server(c)
c.ServerApp.allow_root = True
c.ServerApp.port = int(os.environ.get("NBPROD_UI_PORT", "8899"))
c.ServerApp.root_dir = str(make_project())
# the extension is enabled by the file pip installs in etc/jupyter; say it here too
# so the tests do not depend on how the package was installed
c.ServerApp.jpserver_extensions = {"nbprod": True}
# keep the kernels light: two cores run the server, the browser and the runs
c.MappingKernelManager.cull_idle_timeout = 0
