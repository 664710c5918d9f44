"""The nbstripout git filter: notebooks are committed without outputs.

nbstripout does the stripping, as a git *clean* filter, so the working copy
keeps its outputs while the index (and so every commit) gets the stripped
notebook. nbprod only makes sure the filter is set up.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nbprod.errors import GitError
from nbprod.gitops.git import Git

FILTER_LINE = "*.ipynb filter=nbstripout"
#: nbstripout renumbers cell ids by default; export markers name cells by id,
#: so the committed notebook must keep them or a fresh clone would be "stale"
KEEP_ID = "--keep-id"
#: the filter's command: nbstripout behind nbprod's import deferral
FILTER_MODULE = "nbprod.gitops.nbstripout_filter"


def strip_filter_configured(git: Git) -> bool:
    """True when notebooks pass through nbstripout (keeping cell ids) when staged."""
    clean = git.run("config", "--get", "filter.nbstripout.clean", check=False).stdout
    if "nbstripout" not in clean or KEEP_ID not in clean:
        return False
    attr = git.run("check-attr", "filter", "--", "nbprod-probe.ipynb").stdout
    return attr.strip().endswith(": nbstripout")


def install_strip_filter(git: Git, attributes: Path | None = None) -> bool:
    """Set up the nbstripout filter in the repository of ``git``.

    Parameters
    ----------
    git : Git
        The repository.
    attributes : Path, optional
        The attributes file to declare the filter in (``.gitattributes`` so it
        is shared); default ``.git/info/attributes``, which changes nothing in
        the working tree.

    Returns
    -------
    bool
        True when something was changed.

    Raises
    ------
    GitError
        When nbstripout is missing or cannot install the filter.
    """
    has_line = attributes is None or (
        attributes.is_file() and FILTER_LINE in attributes.read_text("utf-8")
    )
    if strip_filter_configured(git) and has_line:
        return False
    command = [sys.executable, "-m", "nbstripout", "--install"]
    if attributes is not None:
        command += ["--attributes", str(attributes)]
    try:
        proc = subprocess.run(
            command, cwd=git.cwd, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise GitError(f"cannot run nbstripout: {exc}") from None
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip() or "no message"
        if "No module named nbstripout" in message:
            raise GitError("nbstripout is not installed", hint="pip install nbstripout")
        raise GitError(f"nbstripout --install failed: {message}")
    # nbstripout's own command, started through nbprod's import deferral
    # (1.7 s less per notebook staged or diffed), keeping cell ids
    python = f'"{sys.executable}" -m {FILTER_MODULE}'
    git.run("config", "filter.nbstripout.clean", f"{python} {KEEP_ID}")
    git.run("config", "diff.ipynb.textconv", f"{python} -t")
    return True
