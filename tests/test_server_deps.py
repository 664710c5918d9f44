"""``GET/POST deps`` against a real Jupyter server: the Ship section's Add dependencies button."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from test_server import (  # noqa: F401  (fixtures)
    code,
    error_of,
    fetch_json,
    jp_server_config,
    notebook,
    project,
)

pytestmark = pytest.mark.filterwarnings(
    "error::jupyter_server.utils.JupyterServerAuthWarning"
)


async def test_deps_finding_then_add_dependencies(
    jp_fetch, project: Path  # noqa: F811
) -> None:
    nb = notebook(
        code("from sklearn.linear_model import LogisticRegression"),
        code("def model():\n    return LogisticRegression()", "export"),
    )
    nbformat.write(nb, project / "notebooks" / "model.ipynb")
    pyproject = project / "pyproject.toml"
    before = pyproject.read_text()

    report = await fetch_json(jp_fetch, "deps")

    assert report["ok"] is False
    (missing,) = report["missing"]
    assert missing["distribution"] == "scikit-learn"
    assert missing["sites"][0]["notebook"] == "notebooks/model.ipynb"
    assert missing["sites"][0]["cell"] == 2  # after the title cell
    (finding,) = [f for f in report["findings"] if f["severity"] == "error"]
    assert finding["path"] == "notebooks/model.ipynb" and finding["cell"] == 2

    dry = await fetch_json(
        jp_fetch, "deps", method="POST", body=json.dumps({"dry_run": True})
    )
    assert dry["added"] == [missing["requirement"]] and dry["dry_run"] is True
    assert pyproject.read_text() == before

    added = await fetch_json(jp_fetch, "deps", method="POST", body="{}")

    assert added["added"] == [missing["requirement"]]
    assert added["report"]["ok"] is True
    assert pyproject.read_text() == before.replace(
        'name = "shop"\n',
        f'name = "shop"\ndependencies = [\n    "{missing["requirement"]}",\n]\n',
    )
    assert (await fetch_json(jp_fetch, "deps"))["ok"] is True

    status, error = await error_of(
        jp_fetch, "deps", method="POST", body=json.dumps({"dry_run": "yes"})
    )
    assert status == 400 and "dry_run" in error["error"]["message"]
