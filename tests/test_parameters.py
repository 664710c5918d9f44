"""Parameters cells, parameter checking and injection, value encoding, grids (no kernels)."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbprod.errors import NotebookError, ParameterError
from nbprod.notebook.parameters import find_parameters_cell, parse_parameters
from nbprod.run.batch import expand_grid, load_grid
from nbprod.run.params import (
    CommandLineText,
    check_parameters,
    gather_parameters,
    inject_parameters,
    prepare_parameters,
)
from nbprod.values import (
    decode_value,
    encode_value,
    injected_cell_source,
    python_source,
)

CELL = """\
%matplotlib inline
n_rows = 1000  # rows to sample
rate: float = 0.1
name = "churn"
flags = (1, 2)
tags = {"a", "b"}
weights = {1: 0.5, 2: 0.5}
start = datetime.date(2024, 1, 31)
model = make_model()
maybe = None
import os
"""


def notebook(source: str = CELL) -> nbformat.NotebookNode:
    params = new_code_cell(source)
    params.metadata["tags"] = ["parameters"]
    return new_notebook(
        cells=[new_markdown_cell("# t"), new_code_cell("import datetime"), params]
    )


def test_parse_names_defaults_types_comments():
    parsed = {p.name: p for p in parse_parameters(CELL)}
    assert list(parsed) == [
        "n_rows",
        "rate",
        "name",
        "flags",
        "tags",
        "weights",
        "start",
        "model",
        "maybe",
    ]
    assert parsed["n_rows"].default == 1000
    assert parsed["n_rows"].type == "int"
    assert parsed["n_rows"].comment == "rows to sample"
    assert parsed["n_rows"].line == 2
    assert parsed["rate"].type == "float"
    assert parsed["flags"].default == (1, 2)
    assert parsed["tags"].default == {"a", "b"}
    assert parsed["weights"].default == {1: 0.5, 2: 0.5}
    assert parsed["start"].default == dt.date(2024, 1, 31)
    assert parsed["start"].type == "date"
    assert not parsed["model"].literal
    assert parsed["model"].default_source == "make_model()"
    assert parsed["model"].type is None
    assert parsed["maybe"].literal and parsed["maybe"].type is None
    data = parsed["start"].to_dict()
    assert data["default"] == "2024-01-31" and data["line"] == 8


def test_find_parameters_cell_and_to_dict():
    cell = find_parameters_cell(notebook(), "nb.ipynb")
    assert cell is not None
    assert cell.index == 2
    assert cell.to_dict()["parameters"][0]["name"] == "n_rows"
    assert find_parameters_cell(new_notebook(cells=[new_code_cell("x = 1")])) is None


def test_parameters_cell_with_syntax_error():
    with pytest.raises(NotebookError, match="not valid Python") as info:
        find_parameters_cell(notebook("x = (1,"), "nb.ipynb")
    assert info.value.location.cell == 2


def test_unknown_name_lists_known_ones():
    cell = find_parameters_cell(notebook(), "nb.ipynb")
    with pytest.raises(ParameterError) as info:
        check_parameters(cell, {"n_row": 5}, "nb.ipynb")
    message = info.value.message
    assert "unknown parameter 'n_row'" in message
    assert "n_rows, rate, name" in message
    assert info.value.location.cell == 2


def test_type_mismatch_is_an_error():
    cell = find_parameters_cell(notebook(), "nb.ipynb")
    with pytest.raises(
        ParameterError, match=r"'n_rows' expects int .* got str 'abc'"
    ) as info:
        check_parameters(cell, {"n_rows": CommandLineText("abc")}, "nb.ipynb")
    assert info.value.location.line == 2
    with pytest.raises(ParameterError, match="expects int"):
        check_parameters(cell, {"n_rows": True}, "nb.ipynb")
    with pytest.raises(ParameterError, match="expects date"):
        check_parameters(cell, {"start": "not a date"}, "nb.ipynb")


def test_parameters_without_parameters_cell():
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    with pytest.raises(ParameterError, match=r"no parameters cell.*: x"):
        prepare_parameters(nb, {"x": 2}, "nb.ipynb")
    # no parameters, no parameters cell: fine
    assert prepare_parameters(nb, {}, "nb.ipynb")[1] == {}


def test_command_line_text_is_typed_like_the_default():
    cell = find_parameters_cell(notebook(), "nb.ipynb")
    typed = check_parameters(
        cell,
        {
            "n_rows": CommandLineText("42"),
            "rate": CommandLineText("1"),
            "name": CommandLineText("42"),
            "start": CommandLineText("2025-02-03"),
            "maybe": CommandLineText("3.5"),
            "model": CommandLineText("None"),
        },
        "nb.ipynb",
    )
    assert typed == {
        "n_rows": 42,
        "rate": 1,
        "name": "42",
        "start": dt.date(2025, 2, 3),
        "maybe": 3.5,
        "model": None,
    }
    assert type(typed["name"]) is str


def test_lists_from_yaml_become_tuples_and_sets():
    cell = find_parameters_cell(notebook(), "nb.ipynb")
    typed = check_parameters(cell, {"flags": [3, 4], "tags": ["x"]}, "nb.ipynb")
    assert typed["flags"] == (3, 4) and type(typed["flags"]) is tuple
    assert typed["tags"] == {"x"}


def test_values_that_cannot_be_injected_are_rejected():
    cell = find_parameters_cell(notebook(), "nb.ipynb")
    with pytest.raises(
        ParameterError, match="'maybe': object values are not supported"
    ):
        check_parameters(cell, {"maybe": object()}, "nb.ipynb")


VALUES = {
    "t": (1, "a", (2.5,)),
    "s": {3, 1, 2},
    "fs": frozenset({"x"}),
    "d": {1: "one", (2, 3): [4, 5], "k": None},
    "day": dt.date(2024, 2, 29),
    "when": dt.datetime(2024, 2, 29, 12, 30, tzinfo=dt.timezone.utc),
    "gap": dt.timedelta(hours=2),
    "money": decimal.Decimal("1.10"),
    "nan": float("nan"),
    "inf": float("-inf"),
    "z": 1 + 2j,
    "b": b"\x00\xff",
    "nested": [{"a": (1, {2})}],
    "empty_set": set(),
}


def _same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and type(a) is type(b)


def test_injected_source_round_trips_every_supported_type():
    source = injected_cell_source(VALUES)
    # the notebook's own `datetime` name must not be shadowed by the injection
    namespace = {"datetime": "the notebook's own"}
    exec(source, namespace)
    assert namespace["datetime"] == "the notebook's own"
    assert "_nbprod_datetime" not in namespace
    for name, value in VALUES.items():
        assert _same(namespace[name], value), name


def test_encoding_round_trips_every_supported_type():
    import json

    data = json.loads(json.dumps(encode_value(VALUES)))
    restored = decode_value(data)
    for name, value in VALUES.items():
        assert _same(restored[name], value), name
    assert encode_value({"a": [1, "x"]}) == {"a": [1, "x"]}


def test_python_source_single_tuple_and_refusals():
    assert python_source((1,)) == "(1,)"
    with pytest.raises(TypeError):
        python_source(object())
    tz = dt.timezone(dt.timedelta(hours=2))
    with pytest.raises(TypeError, match="time zone"):
        python_source(dt.datetime(2024, 1, 1, tzinfo=tz))


def test_inject_places_cell_after_parameters_and_replaces_old_one():
    nb = notebook()
    once = inject_parameters(nb, find_parameters_cell(nb), {"n_rows": 5})
    assert once.cells[3].metadata["tags"] == ["injected-parameters"]
    assert "n_rows = 5" in once.cells[3].source
    twice = inject_parameters(once, find_parameters_cell(once), {"n_rows": 6})
    assert len(twice.cells) == len(once.cells)
    assert "n_rows = 6" in twice.cells[3].source
    assert len(nb.cells) == 3  # the input notebook is left alone


def test_gather_order_files_then_yaml_then_pairs(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("a: 1\nb: 1\nc: 1\nday: 2024-01-02\n")
    merged = gather_parameters([params], ["{b: 2, c: 2}"], [("c", "3")])
    assert merged["a"] == 1 and merged["b"] == 2 and merged["c"] == "3"
    assert isinstance(merged["c"], CommandLineText)
    assert merged["day"] == dt.date(2024, 1, 2)
    with pytest.raises(ParameterError, match="YAML mapping"):
        gather_parameters(yaml_texts=["[1, 2]"])
    with pytest.raises(ParameterError, match="cannot read"):
        gather_parameters([tmp_path / "missing.yaml"])


def test_grid_product_and_runs_list(tmp_path):
    assert expand_grid({"a": [1, 2], "b": ["x", "y"], "c": 0}) == [
        {"a": 1, "b": "x", "c": 0},
        {"a": 1, "b": "y", "c": 0},
        {"a": 2, "b": "x", "c": 0},
        {"a": 2, "b": "y", "c": 0},
    ]
    grid = tmp_path / "grid.yaml"
    grid.write_text("runs:\n  - {a: 1}\n  - {a: 2, b: [1, 2]}\n")
    assert load_grid(grid) == [{"a": 1}, {"a": 2, "b": [1, 2]}]
    for bad, message in [
        ("[1, 2]", "a grid must be a mapping"),
        ("a: []", "empty list of values for a"),
        ("runs: 3", "'runs' must hold only a list"),
        ("runs: [1]", r"runs\[0\] is not a mapping"),
        ("runs: []", "no parameter sets"),
        ("a: [1", "not valid YAML"),
    ]:
        grid.write_text(bad)
        with pytest.raises(ParameterError, match=message):
            load_grid(grid)


def test_yaml_errors_keep_pyyaml_line_and_column(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("n: [1, 2]\nlabel: [a, b\nseed: 3\n")
    with pytest.raises(ParameterError) as caught:
        load_grid(grid)
    where = caught.value.location
    assert (where.path, where.line, where.column) == (str(grid), 3, 5)
    assert "the grid is not valid YAML: expected ',' or ']'" in caught.value.message
    assert str(where).endswith("grid.yaml, line 3, column 5")
    assert caught.value.to_dict()["location"]["column"] == 5

    params = tmp_path / "p.yaml"
    params.write_text("alpha: 1\nbeta: : 2\n")
    with pytest.raises(ParameterError) as caught:
        gather_parameters([params])
    where = caught.value.location
    assert (where.path, where.line, where.column) == (str(params), 2, 7)
    assert "mapping values are not allowed here" in caught.value.message
    with pytest.raises(ParameterError) as caught:
        gather_parameters(yaml_texts=["{a: 1"])
    assert caught.value.location.path == "-y"
    assert caught.value.location.line == 1


def test_short_text_keeps_a_float_a_float_everywhere_it_is_shown():
    from nbprod.history.records import RunRecord
    from nbprod.values import short_text

    assert [short_text(v) for v in (1.0, 0.1, 1e-05, 3, "a b", True, [1.0, 2])] == [
        "1.0",
        "0.1",
        "1e-05",
        "3",
        "a b",
        "true",
        "[1.0, 2]",
    ]
    # the API sends the texts beside the values, whose 1.0 JavaScript reads as 1
    run = RunRecord(id="r", notebook="nb.ipynb", parameters={"C": 1.0, "n": 3})
    data = run.to_dict()
    assert data["parameters"] == {"C": 1.0, "n": 3}
    assert data["parameter_text"] == {"C": "1.0", "n": "3"}
