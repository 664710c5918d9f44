"""The version of nbprod, kept in step with package.json."""

__version__ = "0.1.0"
