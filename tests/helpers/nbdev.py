"""What the nbdev tests share: a minimal nbdev project's pyproject.toml."""

#: an nbdev project with no [tool.nbprod]: nbprod reads nbdev's settings
NBDEV_PYPROJECT = """\
[project]
name = "my-lib"
version = "0.0.1"

[tool.nbdev]
lib_path = "mylib"
nbs_path = "nbs"
"""
