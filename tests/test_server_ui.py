"""The panel's routes against a real Jupyter server: info, run outputs, compare, ship preview."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from helpers.ship import git
from test_server import (  # noqa: F401  (fixtures)
    error_of,
    fetch_json,
    jp_server_config,
    project,
    repository,
    until_done,
    write_scoring_notebook,
)

from nbprod.cli import main
from nbprod.config import default_jobs

pytestmark = pytest.mark.filterwarnings(
    "error::jupyter_server.utils.JupyterServerAuthWarning"
)


async def test_info_says_the_default_parallelism(jp_fetch) -> None:
    info = await fetch_json(jp_fetch, "info")
    assert info["default_jobs"] == default_jobs()
    assert info["runs_dir"] == "runs"


async def test_a_batch_is_compared_and_its_outputs_are_results(
    jp_fetch, project: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    write_scoring_notebook(project)
    started = await fetch_json(
        jp_fetch,
        "batches",
        method="POST",
        body=json.dumps(
            {"notebook": "notebooks/score.ipynb", "grid": {"offset": [1, 3]}}
        ),
    )
    batch = started["batch"]["id"]
    done = await until_done(jp_fetch, "batches", batch, key=lambda d: d["batch"])
    assert done["batch"]["terminal"] is True
    runs = done["runs"]
    ids = [r["id"] for r in runs]

    compared = await fetch_json(
        jp_fetch, "runs", "compare", params={"ids": ",".join(ids)}
    )
    by_name = {p["name"]: p for p in compared["parameters"]}
    # the differing parameter first; `label` was never given: its default is shown
    assert compared["parameters"][0]["name"] == "offset"
    assert by_name["offset"]["differs"] is True
    assert by_name["offset"]["values"] == [r["parameters"]["offset"] for r in runs]
    assert by_name["label"] == {
        "name": "label",
        "values": ["a", "a"],
        "texts": ["a", "a"],
        "sources": ["default", "default"],
        "differs": False,
    }
    (score,) = compared["metrics"]
    assert score["goal"] == "max"
    assert score["values"][score["best"]] == 30
    batch_view = await fetch_json(jp_fetch, "runs", "compare", params={"batch": batch})
    assert {r["id"] for r in batch_view["runs"]} == set(ids)
    status, body = await error_of(jp_fetch, "runs", "compare", params={"ids": ""})
    assert status == 400 and "ids=" in body["error"]["message"]

    # an output notebook is a result: plan, export, run and batch refuse it
    output = runs[0]["output_file"]
    assert output.startswith("runs/")
    parts = output.split("/")
    for method, route, payload in [
        ("GET", ["notebooks", *parts, "plan"], None),
        ("POST", ["notebooks", *parts, "export"], {}),
        ("POST", ["runs"], {"notebook": output}),
        ("POST", ["batches"], {"notebook": output, "grid": {"offset": [1]}}),
    ]:
        status, body = await error_of(
            jp_fetch,
            *route,
            method=method,
            body=None if payload is None else json.dumps(payload),
        )
        assert status == 400, route
        assert body["error"]["type"] == "run_output"
        assert body["error"]["run_id"] == runs[0]["id"]
        assert body["error"]["source"] == "notebooks/score.ipynb"
    assert not (project / "src" / "shop" / runs[0]["id"].replace("-", "_")).exists()
    of = await fetch_json(jp_fetch, "runs", "of", params={"path": output})
    assert of["run"]["id"] == runs[0]["id"]

    # the same comparison on the command line, the differing parameter first
    monkeypatch.chdir(project)
    shown = CliRunner().invoke(main, ["runs", "--compare", *ids])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    offset_line = next(i for i, line in enumerate(lines) if "offset" in line)
    label_line = next(
        i for i, line in enumerate(lines) if line.strip().startswith("label")
    )
    assert offset_line < label_line
    assert "(best)" in shown.output and "* differs: offset" in shown.output
    as_json = CliRunner().invoke(
        main, ["runs", "--batch", batch, "--compare", "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["parameters"][0]["name"] == "offset"
    refused = CliRunner().invoke(main, ["runs", "--compare"])
    assert refused.exit_code == 2 and "--compare needs" in refused.output


async def test_ship_preview_lists_what_push_stages_with_diffs(
    jp_fetch, project: Path, repository: Path  # noqa: F811
) -> None:
    notebook = project / "notebooks" / "prices.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[3].source = "def area(r):\n    return math.pi * r ** 2"
    nb.cells[3].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="noise\n")
    ]
    nbformat.write(nb, notebook)
    preview = await fetch_json(jp_fetch, "ship", "preview")
    files = {f["path"]: f for f in preview["files"]}
    assert files["notebooks/prices.ipynb"]["kind"] == "notebook"
    diff = files["notebooks/prices.ipynb"]["diff"]
    assert "+    return math.pi * r ** 2" in diff and "noise" not in diff
    # the generated module and tests are stale: push exports them first
    assert "src/shop/prices.py" in preview["stale"]
    assert files["src/shop/prices.py"]["status"] == "added"
    assert "+def area(r):" in files["src/shop/prices.py"]["diff"]
    assert preview["configures_filter"] is True
    assert preview["branch"] == "main"
    # nothing was touched: no generated file, no filter, nothing staged
    assert not (project / "src" / "shop" / "prices.py").exists()
    assert git(project, "diff", "--cached", "--name-only").strip() == ""
