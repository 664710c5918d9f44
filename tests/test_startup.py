"""nbprod's processes defer jsonschema's slow optional import without changing it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None,
    reason="rfc3987_syntax is not installed",
)

CHECK = """\
import sys
import nbprod, nbformat

nbformat.validate(nbformat.v4.new_notebook())
print(getattr(sys.modules["rfc3987_syntax"], "_nbprod_stand_in", False))
import jsonschema

checker = jsonschema.Draft7Validator.FORMAT_CHECKER
validator = jsonschema.Draft7Validator({"format": "iri"}, format_checker=checker)
print(validator.is_valid("https://example.org/ä"), validator.is_valid("no iri"))
print(getattr(sys.modules["rfc3987_syntax"], "_nbprod_stand_in", False))
"""


def test_nbformat_without_the_grammars_and_iri_checks_unchanged():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    # reading and validating a notebook never built the IRI grammars; checking
    # an IRI loads the real module and gives jsonschema's usual answers
    assert result.stdout.split() == ["True", "True", "False", "False"]
