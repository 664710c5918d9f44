"""papermill's exit semantics (real kernels): a clean ``SystemExit`` ends a run early, succeeded."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nbprod.run.execute import RunSpec, execute_run

pytestmark = pytest.mark.slow


def execute(tmp_path, *cells: str):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "P",
        "language": "python",
    }
    nb.cells = [new_code_cell(source) for source in cells]
    outcome = execute_run(
        RunSpec(
            run_id="r",
            notebook_json=nbformat.writes(nb),
            input_path=str(tmp_path / "nb.ipynb"),
            cwd=str(tmp_path),
        )
    )
    return outcome, nbformat.reads(outcome.notebook_json, as_version=4)


@pytest.mark.parametrize(
    "stop", ["import sys\nsys.exit()", "raise SystemExit(0)", "raise SystemExit(None)"]
)
def test_a_clean_exit_ends_the_run_succeeded_and_skips_the_rest(tmp_path, stop):
    outcome, nb = execute(
        tmp_path,
        "import nbprod\nnbprod.record('before', 1)",
        stop,
        "nbprod.record('after', 2)",
    )
    assert outcome.status == "succeeded", outcome.error
    assert outcome.error is None
    assert outcome.metrics == {"before": 1}
    assert nb.cells[2].execution_count is None and nb.cells[2].outputs == []
    assert nb.metadata["papermill"]["exception"] is False


@pytest.mark.parametrize("code", ["2", "'bad input'"])
def test_a_non_zero_exit_fails_the_run(tmp_path, code):
    outcome, nb = execute(tmp_path, "x = 1", f"raise SystemExit({code})", "y = 2")
    assert outcome.status == "failed"
    assert outcome.error.cell == 1 and outcome.error.ename == "SystemExit"
    assert outcome.error.evalue == eval(code).__str__()
    assert nb.cells[2].execution_count is None
