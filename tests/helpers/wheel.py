"""Wheels built in a tenth of a second, for tests that install into a fresh venv.

A wheel is a zip file with a ``.dist-info`` folder (PEP 427): writing one
directly avoids a build backend (and, for nbprod, its JupyterLab build hook),
so the test of ``nbprod init``'s CI workflow runs offline and fast.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from nbprod.config import read_toml


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{name},sha256={digest.decode()},{len(data)}"


def build_wheel(
    folder: Path,
    name: str,
    version: str,
    files: Mapping[str, bytes],
    requires: Sequence[str] = (),
    scripts: Mapping[str, str] | None = None,
) -> Path:
    """Write ``name-version-py3-none-any.whl`` into ``folder`` and return its path.

    Parameters
    ----------
    files : mapping
        Path inside the wheel (``pkg/mod.py``) to its bytes.
    requires : list of str
        ``Requires-Dist`` lines (PEP 508).
    scripts : mapping, optional
        Console scripts: command name to ``module:function``.
    """
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        *(f"Requires-Dist: {r}" for r in requires),
    ]
    meta_files = {
        f"{info}/METADATA": ("\n".join(metadata) + "\n").encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: nbprod-tests\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    if scripts:
        lines = ["[console_scripts]", *(f"{k} = {v}" for k, v in scripts.items())]
        meta_files[f"{info}/entry_points.txt"] = ("\n".join(lines) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    everything = {**files, **meta_files}
    record = [_record_line(n, d) for n, d in everything.items()]
    record.append(f"{info}/RECORD,,")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for entry, data in everything.items():
            wheel.writestr(entry, data)
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def build_nbprod_wheel(repo: Path, folder: Path) -> Path:
    """A wheel of the nbprod sources in ``repo``: its package, dependencies and script.

    The built JupyterLab assets are left out (the command line does not need them).
    """
    project = read_toml(repo / "pyproject.toml")["project"]
    namespace: dict[str, str] = {}
    exec((repo / "nbprod" / "_version.py").read_text(), namespace)
    files = {
        path.relative_to(repo).as_posix(): path.read_bytes()
        for path in sorted((repo / "nbprod").rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and "labextension" not in path.relative_to(repo).parts
    }
    return build_wheel(
        folder,
        "nbprod",
        namespace["__version__"],
        files,
        project["dependencies"],
        project.get("scripts"),
    )
