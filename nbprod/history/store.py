"""The run history store: one SQLAlchemy database of batches, runs and metrics.

Only the process that drives the runs writes here (workers return results), so
a SQLite file in WAL mode serves a laptop and PostgreSQL serves a team, through
the same URL setting.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, or_, select, update
from sqlalchemy.exc import DatabaseError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from nbprod.errors import ConfigError, NotFoundError

# the monitoring tables share Base (and its metadata, which migrations compare)
from nbprod.history import monitor_models as _monitor_models  # noqa: F401
from nbprod.history.models import (
    BatchRow,
    JobRow,
    MetricRow,
    RunRow,
)
from nbprod.history.owner import Owner
from nbprod.history.records import (
    CANCELLED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    BatchRecord,
    JobRecord,
    RunErrorInfo,
    RunRecord,
    now,
)
from nbprod.values import decode_value, encode_value


def _utc(value: _dt.datetime | None) -> _dt.datetime | None:
    # SQLite hands back naive datetimes; every time nbprod writes is UTC
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=_dt.timezone.utc)
    return value


#: statuses of work some process is (or was) doing
UNFINISHED = (QUEUED, RUNNING)


def _set_owner(row: BatchRow | RunRow, owner: Owner | None) -> None:
    row.owner_host = owner.host if owner else None
    row.owner_pid = owner.pid if owner else None
    row.owner_started = owner.started if owner else None


def _owner(row: BatchRow | RunRow) -> Owner | None:
    if row.owner_host is None or row.owner_pid is None:
        return None
    return Owner(row.owner_host, row.owner_pid, row.owner_started or 0.0)


#: how long a connection waits for another one's lock, in seconds
BUSY_TIMEOUT = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets `nbprod runs` read while a batch writes; the busy timeout makes
    # two writers queue instead of failing with "database is locked"
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT * 1000:.0f}")
    # WAL is a property of the file: only a new file needs the switch
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put a new database in WAL mode, waiting for the other processes opening it.

    When several commands create a new history together, SQLite can fail the
    switch at once with "database is locked", without waiting through its busy
    handler as it does for a connection that only reads: retry until the busy
    timeout instead.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class HistoryStore:
    """Read and write the run history at a SQLAlchemy URL.

    The schema is created on first use and upgraded in place by Alembic
    (:mod:`nbprod.history.migrate`), safely when processes open it at once.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL, e.g. ``sqlite:////abs/path/.nbprod/history.db``
        (``ProjectConfig.database_url``).

    Raises
    ------
    ConfigError
        When the database cannot be opened, is damaged, or was upgraded by a
        newer nbprod.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///") and url not in (
            "sqlite:///",
            "sqlite:///:memory:",
        ):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(url)
        except (SQLAlchemyError, ImportError) as exc:
            raise ConfigError(f"cannot open the run history at {url}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._migrate()

    def _migrate(self) -> None:
        from nbprod.history.migrate import upgrade_schema

        try:
            upgrade_schema(self.engine, self.where)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise self._open_error(exc) from None

    @property
    def where(self) -> str:
        """The database, for messages: a SQLite file's path, else the URL without password."""
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database not in (
            None,
            "",
            ":memory:",
        ):
            return str(database)
        return self.engine.url.render_as_string(hide_password=True)

    def _open_error(self, exc: SQLAlchemyError) -> ConfigError:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        # SQLite says "file is not a database" or "database disk image is malformed"
        damaged = "not a database" in reason or "malformed" in reason
        sqlite = self.engine.dialect.name == "sqlite"
        if sqlite and damaged and isinstance(exc, DatabaseError):
            return ConfigError(
                f"the run history {self.where} is damaged ({reason})",
                hint=f"move {self.where} aside; nbprod then starts a new one",
            )
        return ConfigError(f"cannot open the run history at {self.where}: {reason}")

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------

    def add_batch(self, batch: BatchRecord, runs: list[RunRecord]) -> None:
        """Store a new batch and its runs (usually all ``queued``)."""
        with Session(self.engine) as session, session.begin():
            session.add(
                BatchRow(
                    id=batch.id,
                    notebook=batch.notebook,
                    status=batch.status,
                    executor=batch.executor,
                    jobs=batch.jobs,
                    output_dir=batch.output_dir,
                    created_at=batch.created_at,
                    owner_host=batch.owner.host if batch.owner else None,
                    owner_pid=batch.owner.pid if batch.owner else None,
                    owner_started=batch.owner.started if batch.owner else None,
                    heartbeat_at=now() if batch.owner else None,
                )
            )
            session.flush()
            for position, run in enumerate(runs):
                session.add(self._new_row(run, position))

    def add_run(self, run: RunRecord) -> None:
        """Store a new run."""
        with Session(self.engine) as session, session.begin():
            session.add(self._new_row(run, None))

    def _new_row(self, run: RunRecord, position: int | None) -> RunRow:
        row = RunRow(
            id=run.id,
            batch_id=run.batch_id,
            position=position,
            notebook=run.notebook,
            parameters=encode_value(run.parameters),
            status=run.status,
            created_at=run.created_at,
        )
        self._fill(row, run)
        return row

    @staticmethod
    def _fill(row: RunRow, run: RunRecord) -> None:
        row.status = run.status
        row.started_at = run.started_at
        row.finished_at = run.finished_at
        row.duration = run.duration
        row.output_path = run.output_path
        error = run.error
        row.error_cell = error.cell if error else None
        row.error_cell_id = error.cell_id if error else None
        row.error_name = error.ename if error else None
        row.error_value = error.evalue if error else None
        row.git_commit = run.git_commit
        row.git_dirty = run.git_dirty
        row.kernel = run.kernel
        row.nbprod_version = run.nbprod_version
        row.papermill_version = run.papermill_version
        _set_owner(row, run.owner)
        row.heartbeat_at = run.heartbeat_at

    def update_run(self, run: RunRecord) -> None:
        """Write a run's status, times, error, provenance and metrics.

        Raises
        ------
        NotFoundError
            When no run has this id.
        """
        with Session(self.engine) as session, session.begin():
            row = session.get(RunRow, run.id, options=[selectinload(RunRow.metrics)])
            if row is None:
                raise NotFoundError(f"no run {run.id!r} in the history")
            self._fill(row, run)
            row.metrics.clear()
            session.flush()
            for name, value in run.metrics.items():
                number = (
                    float(value)
                    if isinstance(value, (int, float)) and not isinstance(value, bool)
                    else None
                )
                row.metrics.append(MetricRow(name=name, value=value, number=number))

    def heartbeat(self, owner: Owner) -> int:
        """Record that ``owner`` is alive on its unfinished batches and runs; return how many."""
        stamp = now()
        changed = 0
        with Session(self.engine) as session, session.begin():
            for model in (BatchRow, RunRow):
                result = session.execute(
                    update(model)
                    .where(
                        model.owner_host == owner.host,
                        model.owner_pid == owner.pid,
                        model.status.in_(UNFINISHED),
                    )
                    .values(heartbeat_at=stamp)
                )
                changed += int(getattr(result, "rowcount", 0) or 0)
        return changed

    def unfinished_owned(self) -> tuple[list[BatchRecord], list[RunRecord]]:
        """Batches, and runs outside batches, that are queued or running with an owner.

        Work queued by the server but not yet taken by a worker has no owner
        (its job tracks it); only owned work can be found orphaned.
        """
        with Session(self.engine) as session:
            batch_ids = list(
                session.scalars(
                    select(BatchRow.id).where(
                        BatchRow.status.in_(UNFINISHED),
                        BatchRow.owner_pid.is_not(None),
                    )
                )
            )
            runs = list(
                session.scalars(
                    select(RunRow)
                    .where(
                        RunRow.status.in_(UNFINISHED),
                        RunRow.batch_id.is_(None),
                        RunRow.owner_pid.is_not(None),
                    )
                    .options(selectinload(RunRow.metrics))
                )
            )
            records = [self._record(row) for row in runs]
        return [self.get_batch(batch_id) for batch_id in batch_ids], records

    def stuck_batches(self) -> list[str]:
        """Unfinished batches that no process owns and no unfinished job is about to take."""
        with Session(self.engine) as session:
            taken = select(JobRow.target).where(
                JobRow.target.is_not(None), JobRow.status.in_(UNFINISHED)
            )
            return list(
                session.scalars(
                    select(BatchRow.id).where(
                        BatchRow.status.in_(UNFINISHED),
                        BatchRow.owner_pid.is_(None),
                        BatchRow.id.not_in(taken),
                    )
                )
            )

    def interrupt_batch(self, batch_id: str, finished_at: _dt.datetime) -> list[str]:
        """Mark a batch, and its queued or running runs, interrupted; return those runs' ids.

        Only when the batch is still unfinished: of two processes repairing
        the same batch at once, one does it.
        """
        with Session(self.engine) as session, session.begin():
            changed = session.execute(
                update(BatchRow)
                .where(BatchRow.id == batch_id, BatchRow.status.in_(UNFINISHED))
                .values(status=INTERRUPTED, finished_at=finished_at)
            )
            if not getattr(changed, "rowcount", 0):
                return []
            ids = list(
                session.scalars(
                    select(RunRow.id).where(
                        RunRow.batch_id == batch_id, RunRow.status.in_(UNFINISHED)
                    )
                )
            )
            if ids:
                session.execute(
                    update(RunRow)
                    .where(RunRow.id.in_(ids))
                    .values(status=INTERRUPTED, finished_at=finished_at)
                )
        return ids

    def set_status(
        self,
        run_ids: Iterable[str],
        status: str,
        started_at: _dt.datetime | None = None,
    ) -> None:
        """Set the status of several runs at once (and their start time, when given)."""
        ids = list(run_ids)
        if not ids:
            return
        values: dict[str, Any] = {"status": status}
        if started_at is not None:
            values["started_at"] = started_at
        with Session(self.engine) as session, session.begin():
            session.execute(update(RunRow).where(RunRow.id.in_(ids)).values(**values))

    def finish_batch(
        self, batch_id: str, status: str, finished_at: _dt.datetime | None
    ) -> None:
        """Set a batch's final status and end time."""
        with Session(self.engine) as session, session.begin():
            row = session.get(BatchRow, batch_id)
            if row is None:
                raise NotFoundError(f"no batch {batch_id!r} in the history")
            row.status = status
            row.finished_at = finished_at

    def reopen_batch(
        self, batch_id: str, run_ids: Iterable[str], owner: Owner | None = None
    ) -> None:
        """Mark a batch running (owned by ``owner``) and the given runs queued (``--resume``)."""
        with Session(self.engine) as session, session.begin():
            row = session.get(BatchRow, batch_id)
            if row is None:
                raise NotFoundError(f"no batch {batch_id!r} in the history")
            row.status = RUNNING
            row.finished_at = None
            if owner is not None:
                _set_owner(row, owner)
                row.heartbeat_at = now()
            session.execute(
                update(RunRow)
                .where(RunRow.id.in_(list(run_ids)))
                .values(status=QUEUED, started_at=None, finished_at=None, duration=None)
            )

    def cancel_unfinished(self, batch_id: str) -> list[str]:
        """Mark every queued or running run of a batch cancelled; return their ids."""
        with Session(self.engine) as session, session.begin():
            ids = list(
                session.scalars(
                    select(RunRow.id).where(
                        RunRow.batch_id == batch_id,
                        RunRow.status.in_((QUEUED, RUNNING)),
                    )
                )
            )
            if ids:
                session.execute(
                    update(RunRow).where(RunRow.id.in_(ids)).values(status=CANCELLED)
                )
        return ids

    # -- reading ---------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        """Return one run, by id or by a unique prefix of its id.

        Raises
        ------
        NotFoundError
            When no run, or more than one, matches.
        """
        with Session(self.engine) as session:
            row = session.get(RunRow, run_id, options=[selectinload(RunRow.metrics)])
            if row is None:
                rows = list(
                    session.scalars(
                        select(RunRow)
                        .where(RunRow.id.startswith(run_id, autoescape=True))
                        .options(selectinload(RunRow.metrics))
                        .limit(2)
                    )
                )
                if len(rows) != 1:
                    found = "no run" if not rows else "more than one run"
                    raise NotFoundError(
                        f"{found} with id {run_id!r} in the history",
                        hint="the run history lists every run",
                    )
                row = rows[0]
            return self._record(row)

    def list_runs(
        self,
        notebook: str | None = None,
        batch_id: str | None = None,
        status: str | None = None,
        limit: int | None = 20,
        offset: int = 0,
    ) -> list[RunRecord]:
        """Return runs, newest first.

        Parameters
        ----------
        notebook : str, optional
            Only runs of this notebook (its project-relative path, or a path
            ending in it, e.g. its file name).
        batch_id : str, optional
            Only the runs of this batch, in the order of its parameter sets.
        status : str, optional
            Only runs with this status.
        limit : int or None
            At most this many runs.
        offset : int
            Skip this many runs first (paging).
        """
        query = self._runs_query(select(RunRow), notebook, batch_id, status)
        query = query.options(selectinload(RunRow.metrics))
        if batch_id:
            query = query.order_by(RunRow.position)
        else:
            # newest first; the runs of one batch (created together) in grid order
            query = query.order_by(
                RunRow.created_at.desc(),
                RunRow.batch_id.desc(),
                RunRow.position,
                RunRow.id,
            )
        if limit:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with Session(self.engine) as session:
            return [self._record(row) for row in session.scalars(query)]

    def count_runs(
        self,
        notebook: str | None = None,
        batch_id: str | None = None,
        status: str | None = None,
    ) -> int:
        """Return how many runs :meth:`list_runs` would find with no limit."""
        query = self._runs_query(
            select(func.count(RunRow.id)), notebook, batch_id, status
        )
        with Session(self.engine) as session:
            return int(session.scalar(query) or 0)

    @staticmethod
    def _runs_query(
        query: Any, notebook: str | None, batch_id: str | None, status: str | None
    ) -> Any:
        if notebook:
            query = query.where(
                or_(
                    RunRow.notebook == notebook,
                    RunRow.notebook.endswith("/" + notebook, autoescape=True),
                )
            )
        if batch_id:
            query = query.where(RunRow.batch_id == batch_id)
        if status:
            query = query.where(RunRow.status == status)
        return query

    def get_batch(self, batch_id: str) -> BatchRecord:
        """Return a batch with its run counts per status.

        Raises
        ------
        NotFoundError
            When no batch has this id.
        """
        with Session(self.engine) as session:
            row = session.get(BatchRow, batch_id)
            if row is None:
                raise NotFoundError(
                    f"no batch {batch_id!r} in the history",
                    hint="the run history shows every batch id",
                )
            counts = dict(
                session.execute(
                    select(RunRow.status, func.count())
                    .where(RunRow.batch_id == batch_id)
                    .group_by(RunRow.status)
                ).all()
            )
            return BatchRecord(
                id=row.id,
                notebook=row.notebook,
                status=row.status,
                executor=row.executor,
                jobs=row.jobs,
                output_dir=row.output_dir,
                created_at=_utc(row.created_at),
                finished_at=_utc(row.finished_at),
                counts={str(k): int(v) for k, v in counts.items()},
                owner=_owner(row),
                heartbeat_at=_utc(row.heartbeat_at),
            )

    @staticmethod
    def _record(row: RunRow) -> RunRecord:
        error = None
        if row.error_name is not None:
            error = RunErrorInfo(
                cell=row.error_cell,
                cell_id=row.error_cell_id,
                ename=row.error_name,
                evalue=row.error_value or "",
            )
        return RunRecord(
            id=row.id,
            batch_id=row.batch_id,
            notebook=row.notebook,
            parameters=decode_value(row.parameters),
            status=row.status,
            created_at=_utc(row.created_at),
            started_at=_utc(row.started_at),
            finished_at=_utc(row.finished_at),
            duration=row.duration,
            output_path=row.output_path,
            error=error,
            git_commit=row.git_commit,
            git_dirty=row.git_dirty,
            kernel=row.kernel,
            nbprod_version=row.nbprod_version,
            papermill_version=row.papermill_version,
            metrics={m.name: m.value for m in row.metrics},
            owner=_owner(row),
            heartbeat_at=_utc(row.heartbeat_at),
        )

    # -- jobs of the Jupyter server ---------------------------------------------

    def add_job(self, job: JobRecord) -> None:
        """Store a new job."""
        with Session(self.engine) as session, session.begin():
            session.add(
                JobRow(
                    id=job.id,
                    kind=job.kind,
                    status=job.status,
                    target=job.target,
                    pid=job.pid,
                    request=job.request,
                    steps=job.steps,
                    result=job.result,
                    error=job.error,
                    created_at=job.created_at,
                    finished_at=job.finished_at,
                )
            )

    def update_job(self, job_id: str, **values: Any) -> None:
        """Change fields of a job (``status``, ``pid``, ``steps``, ``result``, ...)."""
        with Session(self.engine) as session, session.begin():
            session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))

    def get_job(self, job_id: str) -> JobRecord:
        """Return a job.

        Raises
        ------
        NotFoundError
            When no job has this id.
        """
        with Session(self.engine) as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise NotFoundError(f"no job {job_id!r}")
            return self._job(row)

    def find_jobs(
        self, target: str | None = None, statuses: Iterable[str] | None = None
    ) -> list[JobRecord]:
        """Jobs for a run or batch, and/or in the given states, oldest first."""
        query = select(JobRow).order_by(JobRow.created_at)
        if target is not None:
            query = query.where(JobRow.target == target)
        if statuses is not None:
            query = query.where(JobRow.status.in_(list(statuses)))
        with Session(self.engine) as session:
            return [self._job(row) for row in session.scalars(query)]

    @staticmethod
    def _job(row: JobRow) -> JobRecord:
        return JobRecord(
            id=row.id,
            kind=row.kind,
            status=row.status,
            target=row.target,
            pid=row.pid,
            request=row.request or {},
            steps=row.steps or [],
            result=row.result,
            error=row.error,
            created_at=_utc(row.created_at),
            finished_at=_utc(row.finished_at),
        )
