"""Creating and upgrading the history's schema with Alembic, safe under concurrency.

Every store runs :func:`upgrade_schema` when it opens. When the database is
already at the newest revisions, that is one read of ``alembic_version``.
Otherwise the upgrade runs under a lock — a file lock next to a SQLite file,
an advisory lock on PostgreSQL — so processes opening a new history at the
same time never race to create the same tables: the first one upgrades, the
others wait and then find nothing left to do.

Revisions live in ``migrations/versions``; the upgrade target is ``heads``, so
two revisions added side by side on one parent (two branches of work landing
at once) both apply.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from nbprod.errors import ConfigError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: the PostgreSQL advisory lock key of schema upgrades ("nbprod" in ASCII)
ADVISORY_LOCK_KEY = 0x6E6270726F64
#: seconds a process waits for another one's upgrade
LOCK_TIMEOUT = 120.0


def alembic_config(connection: Connection | None = None) -> object:
    """Return an Alembic ``Config`` for the history's migrations.

    Parameters
    ----------
    connection : Connection, optional
        The connection the migrations run on (handed to ``env.py``).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    # the revision files are read once per process: they ship with nbprod
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())  # type: ignore[arg-type]
    heads = frozenset(scripts.get_heads())
    return heads, frozenset(script.revision for script in scripts.walk_revisions())


def script_heads() -> set[str]:
    """The newest revisions nbprod knows."""
    return set(_revisions()[0])


def known_revisions() -> set[str]:
    """Every revision nbprod knows."""
    return set(_revisions()[1])


def current_revisions(connection: Connection) -> set[str]:
    """The revisions the database is at (empty for a new or pre-Alembic database)."""
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


@contextlib.contextmanager
def _upgrade_lock(engine: Engine, connection: Connection) -> Iterator[None]:
    sqlite_file = _sqlite_file(engine)
    if sqlite_file is not None:
        from filelock import FileLock, Timeout

        lock = FileLock(str(sqlite_file) + ".lock", timeout=LOCK_TIMEOUT)
        try:
            with lock:
                yield
        except Timeout:
            raise ConfigError(
                f"another process has been upgrading the run history at {sqlite_file} "
                f"for over {LOCK_TIMEOUT:.0f} s",
                hint=f"if no nbprod command is running, delete {lock.lock_file}",
            ) from None
    elif engine.dialect.name == "postgresql":
        # a session lock, held by this connection until it is released
        connection.execute(
            text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        )
        connection.commit()
        try:
            yield
        finally:
            connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            connection.commit()
    else:
        yield


#: the newest revisions, as Alembic reads them from ``migrations/versions``
#: (tests/test_history.py checks the two agree): an up-to-date history is then
#: one read of ``alembic_version`` without importing Alembic, about 0.4 s of
#: every command and worker that opens it
HEADS = frozenset({"0003_monitoring"})


def _at_heads(connection: Connection) -> bool:
    """True when the database is at :data:`HEADS` (a plain read of its version table)."""
    try:
        rows = connection.execute(text("SELECT version_num FROM alembic_version"))
        current = {row[0] for row in rows}
    except SQLAlchemyError:
        return False  # a new or pre-Alembic database: the full path decides
    finally:
        connection.rollback()
    return current == HEADS


def upgrade_schema(engine: Engine, where: str) -> None:
    """Bring the database at ``engine`` to the newest schema revisions.

    Parameters
    ----------
    engine : Engine
        The history's engine.
    where : str
        The database, for error messages (a file path or the URL).

    Raises
    ------
    ConfigError
        When the database was upgraded by a newer nbprod (unknown revisions).
    sqlalchemy.exc.SQLAlchemyError
        When the database cannot be read or written.
    """
    with engine.connect() as connection:
        if _at_heads(connection):
            return
        heads = script_heads()
        current = current_revisions(connection)
        connection.rollback()
        if current == heads:
            return
        with _upgrade_lock(engine, connection):
            # another process may have upgraded while this one waited
            current = current_revisions(connection)
            connection.rollback()
            unknown = current - known_revisions()
            if unknown:
                raise ConfigError(
                    f"the run history at {where} was upgraded by a newer nbprod "
                    f"(schema revision {', '.join(sorted(unknown))})",
                    hint="upgrade nbprod",
                )
            if current != heads:
                from alembic import command

                with connection.begin():
                    command.upgrade(alembic_config(connection), "heads")  # type: ignore[arg-type]
