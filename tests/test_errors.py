"""The one error hierarchy: kinds, exit codes, HTTP statuses, JSON and pickling."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from nbprod import errors
from nbprod.errors import HandEditedError, Location, NbprodError, NotebookError


def _every_error_class() -> list[type[NbprodError]]:
    found: list[type[NbprodError]] = []
    pending = [NbprodError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_kind_has_its_own_type_and_maps_to_an_exit_code_and_status() -> (
    None
):
    classes = [c for c in _every_error_class() if c.__module__ == errors.__name__]
    types = [c.type for c in classes]
    assert len(types) == len(set(types)), "two error classes share a type"
    for cls in classes:
        assert cls.type.isidentifier() and cls.type.islower()
        assert cls.exit_code in (1, 2)
        assert 400 <= cls.http_status < 600
    assert HandEditedError.exit_code == 1 and HandEditedError.http_status == 409
    assert errors.NotFoundError.http_status == 404
    assert errors.ParameterError.http_status == 422


def test_to_dict_is_the_shape_front_doors_read() -> None:
    error = NotebookError(
        "cell 3 is not valid JSON",
        Location("notebooks/a.ipynb", cell=2, cell_id="x1", line=4),
        hint="repair the notebook",
        actions=("export",),
    )
    assert error.to_dict() == {
        "type": "bad_notebook",
        "message": "cell 3 is not valid JSON",
        "location": {
            "path": "notebooks/a.ipynb",
            "cell": 2,
            "cell_id": "x1",
            "line": 4,
        },
        "hint": "repair the notebook",
        "actions": ["export"],
    }
    # people count cells from 1, the API from 0
    assert str(error) == (
        "notebooks/a.ipynb, cell 3, line 4: cell 3 is not valid JSON (repair the notebook)"
    )


def test_hand_edited_names_its_files_and_offers_a_forced_export() -> None:
    data = HandEditedError(["src/pkg/a.py"]).to_dict()
    assert data["type"] == "hand_edited"
    assert data["files"] == ["src/pkg/a.py"]
    assert "force_export" in data["actions"]
    assert "--" not in data["hint"], "core hints name no command line flags"


def _raise_in_worker(path: str) -> None:
    raise HandEditedError([path])


def test_errors_cross_process_boundaries_whole() -> None:
    error = NotebookError("bad", Location("a.ipynb", cell=1), hint="fix it")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.location, copy.hint) == ("bad", error.location, "fix it")
    with ProcessPoolExecutor(1) as pool, pytest.raises(HandEditedError) as caught:
        pool.submit(_raise_in_worker, "src/pkg/b.py").result()
    assert caught.value.paths == ["src/pkg/b.py"]
    assert caught.value.to_dict()["actions"] == ["sync", "force_export"]
