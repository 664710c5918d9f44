"""nbprod's processes defer jsonschema's slow optional imports without changing it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

DEFERRED = ("rfc3987_syntax", "rfc3986_validator", "isoduration")

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in DEFERRED),
    reason="jsonschema's format-nongpl extras are not installed",
)

CHECKS = [
    ("iri", "https://example.org/ä"),
    ("iri", "no iri"),
    ("uri", "https://example.org/a"),
    ("uri", "not a uri"),
    ("duration", "P1D"),
    ("duration", "1D"),
]

SCRIPT = """\
import json, sys
{before}
import nbformat

def stand_ins():
    return [getattr(sys.modules.get(m), "_nbprod_stand_in", False) for m in {deferred!r}]

nbformat.validate(nbformat.v4.new_notebook())
validated = stand_ins()
import jsonschema

checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
answers = [
    jsonschema.Draft202012Validator({{"format": f}}, format_checker=checker).is_valid(v)
    for f, v in {checks!r}
]
import isoduration
import isoduration.parser.exceptions as exceptions

print(json.dumps([
    validated,
    answers,
    stand_ins(),
    "arrow" in sys.modules,
    isoduration.DurationParsingException is exceptions.DurationParsingException,
]))
"""


def run(before: str) -> list:
    script = SCRIPT.format(before=before, deferred=DEFERRED, checks=CHECKS)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_nbformat_without_the_slow_imports_and_format_checks_unchanged():
    plain = run("")  # jsonschema as it is, without nbprod
    deferred = run("import nbprod")
    # reading and validating a notebook loaded none of the three; checking a
    # format loads the real module and gives jsonschema's usual answers
    assert deferred[0] == [True, True, True]
    assert plain[0] == [False, False, False]
    assert deferred[1] == plain[1] == [True, False, True, False, True, False]
    assert deferred[2] == [False, False, False]
    # isoduration's exception is its own class, reached as usual
    assert deferred[3] and deferred[4] and plain[4]
