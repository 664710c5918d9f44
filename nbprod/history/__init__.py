"""The run history: batches, runs and their metrics in a SQLAlchemy database.

Import :mod:`nbprod.history.store` for the store (it imports SQLAlchemy);
:mod:`nbprod.history.records` holds the plain dataclasses.
"""
