"""The REST API against a real Jupyter server (pytest-jupyter), with token auth enforced."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from tornado.httpclient import HTTPClientError

from nbprod.server.handlers import routes

pytestmark = pytest.mark.filterwarnings(
    "error::jupyter_server.utils.JupyterServerAuthWarning"
)

PYPROJECT = (
    '[project]\nname = "shop"\n\n[tool.nbprod]\npackage = "shop"\nsource = "src"\n'
)


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    return cell


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_markdown_cell("# Shop\n\nPrices."), *cells])


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    (jp_root_dir / "pyproject.toml").write_text(PYPROJECT)
    folder = jp_root_dir / "notebooks"
    folder.mkdir()
    nbformat.write(
        notebook(
            code("import math"),
            code("n = 3", "parameters"),
            code("def area(r):\n    return math.pi * r * r", "export"),
            code("assert round(area(1), 2) == 3.14", "test"),
        ),
        folder / "prices.ipynb",
    )
    return jp_root_dir


@pytest.fixture
def jp_server_config(project: Path) -> dict:
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbprod": True},
            "allow_unauthenticated_access": False,
        }
    }


async def fetch_json(jp_fetch, *parts: str, **kwargs) -> dict:
    response = await jp_fetch("nbprod", "api", *parts, **kwargs)
    return json.loads(response.body)


async def error_of(jp_fetch, *parts: str, **kwargs) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("nbprod", "api", *parts, **kwargs)
    response = caught.value.response
    return caught.value.code, (
        json.loads(response.body) if response and response.body else {}
    )


async def test_plan_of_a_saved_notebook(jp_fetch, project: Path) -> None:
    plan = await fetch_json(jp_fetch, "notebooks", "notebooks/prices.ipynb", "plan")
    assert plan["module"] == "shop.prices"
    assert plan["ok"] is True
    assert [c["role"] for c in plan["cells"]] == [
        "none",
        "parameters",
        "export",
        "test",
    ]
    files = {f["path"]: f for f in plan["files"]}
    assert "def area(r):" in files["src/shop/prices.py"]["content"]
    assert files["tests/test_prices.py"]["kind"] == "tests"
    assert not (project / "src").exists()  # planning writes nothing


async def test_plan_of_unsaved_content_reports_hidden_state(jp_fetch) -> None:
    content = notebook(
        code("rate = 2"), code("def f(x):\n    return x * rate", "export")
    )
    plan = await fetch_json(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "plan",
        method="POST",
        body=json.dumps({"content": content}),
    )
    assert plan["ok"] is False
    [problem] = plan["problems"]
    assert problem["severity"] == "error"
    assert problem["location"]["cell"] == 2 and problem["location"]["line"] == 2
    assert problem["location"]["cell_id"] == content.cells[2].id
    assert "`rate` is used here but defined only in cell 2" in problem["message"]
    assert plan["files"] == []


async def test_export_writes_and_refuses_hand_edits(jp_fetch, project: Path) -> None:
    result = await fetch_json(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "export",
        method="POST",
        body="{}",
    )
    assert result["ok"] is True
    statuses = {f["path"]: f["status"] for f in result["notebooks"][0]["files"]}
    assert statuses["src/shop/prices.py"] == "written"
    module = project / "src/shop/prices.py"
    module.write_text(module.read_text() + "# mine\n")
    nb = nbformat.read(project / "notebooks/prices.ipynb", 4)
    nb.cells[3].source += "\n\nRADIUS = 1"
    nbformat.write(nb, project / "notebooks/prices.ipynb")
    status, body = await error_of(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "export",
        method="POST",
        body="{}",
    )
    assert status == 409
    assert body["error"]["files"] == ["src/shop/prices.py"]
    assert "--force" in body["error"]["hint"]
    assert module.read_text().endswith("# mine\n")
    result = await fetch_json(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "export",
        method="POST",
        body=json.dumps({"force": True}),
    )
    assert "RADIUS = 1" in module.read_text()


def sample_url(pattern: str) -> list[str]:
    """A concrete path for a route pattern, split into parts for jp_fetch."""
    path = re.sub(r"\(\?P<path>[^)]*\)", "notebooks/prices.ipynb", pattern)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "x1", path)
    return path.strip("/").split("/")


async def test_every_route_refuses_requests_without_a_token(jp_fetch) -> None:
    checked = 0
    for pattern, handler in routes():
        for method in ("get", "post", "delete"):
            if method not in vars(handler):
                continue
            with pytest.raises(HTTPClientError) as caught:
                await jp_fetch(
                    *sample_url(pattern),
                    method=method.upper(),
                    body="{}" if method == "post" else None,
                    headers={"Authorization": ""},
                )
            assert caught.value.code == 403, (pattern, method)
            checked += 1
    assert checked >= len(routes())


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("notebooks/../../outside.ipynb", 400),
        ("escape/secret.ipynb", 403),
        ("missing.ipynb", 404),
    ],
)
async def test_paths_that_leave_the_root_are_refused(
    jp_fetch, project: Path, tmp_path: Path, path: str, status: int
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    nbformat.write(notebook(code("A = 1", "export")), outside / "secret.ipynb")
    link = project / "escape"
    if not link.exists():
        link.symlink_to(outside, target_is_directory=True)
    code_, body = await error_of(
        jp_fetch, "notebooks", path, "export", method="POST", body="{}"
    )
    assert code_ == status
    assert body["error"]["message"]
    assert not (project / "src").exists() and not (outside / "src").exists()


async def test_an_absolute_path_is_refused(
    http_server_client, jp_auth_header, jp_base_url, project: Path
) -> None:
    # %2F keeps the leading slash through URL routing: the handler sees "/etc/…"
    url = f"{jp_base_url}nbprod/api/notebooks/%2Fetc%2Fhosts.ipynb/export"
    with pytest.raises(HTTPClientError) as caught:
        await http_server_client.fetch(
            url, method="POST", body="{}", headers=jp_auth_header
        )
    assert caught.value.code == 400
    assert (
        "absolute paths are not allowed"
        in json.loads(caught.value.response.body)["error"]["message"]
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "the request body is not valid JSON"),
        ("[1, 2]", "the request body must be a JSON object"),
        ('{"force": "yes"}', "field 'force' must be true or false, not str"),
    ],
)
async def test_malformed_bodies_are_400_with_a_message(
    jp_fetch, body: str, message: str
) -> None:
    status, reply = await error_of(
        jp_fetch,
        "notebooks",
        "notebooks/prices.ipynb",
        "export",
        method="POST",
        body=body,
    )
    assert status == 400
    assert message in reply["error"]["message"]
    assert "Traceback" not in json.dumps(reply)


async def test_concurrent_plans_of_a_large_notebook(jp_fetch, project: Path) -> None:
    cells = [code("import math")]
    for number in range(199):
        if number % 3 == 2:
            cells.append(code(f"x{number} = {number}\nx{number} * 2"))
        else:
            cells.append(
                code(f"def f{number}(r):\n    return math.sqrt(r) + {number}", "export")
            )
    nbformat.write(new_notebook(cells=cells), project / "notebooks" / "big.ipynb")
    replies = await asyncio.gather(
        *[
            fetch_json(jp_fetch, "notebooks", "notebooks/big.ipynb", "plan")
            for _ in range(20)
        ]
    )
    assert all(reply["ok"] for reply in replies)
    assert len({json.dumps(reply, sort_keys=True) for reply in replies}) == 1
