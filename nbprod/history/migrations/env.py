"""Alembic's entry point for the history's migrations.

nbprod runs the migrations itself when a store opens (see
:mod:`nbprod.history.migrate`), handing over an open connection. Contributors
also use the ``alembic`` command line with ``nbprod/history/alembic.ini`` to
write new revisions (CONTRIBUTING.md), giving a scratch database with
``-x url=sqlite:///scratch.db``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from nbprod.history import monitor_models as _monitor_models  # noqa: F401
from nbprod.history.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them; batch mode makes op.* do that
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # the alembic command line
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url") or ""
    with create_engine(url).connect() as conn:
        _run(conn)
