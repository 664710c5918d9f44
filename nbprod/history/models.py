"""SQLAlchemy models of the run history: batches, runs, metrics, and the schema version."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: the version nbprod 0.1 reads from ``nbprod_schema`` (refusing a higher one).
#: Alembic versions the schema now (``migrations/versions``); a revision that
#: nbprod 0.1 must not open sets this row higher.
SCHEMA_VERSION = 2


class Base(DeclarativeBase):
    """Base of the history's tables."""


class SchemaVersion(Base):
    """The pre-Alembic schema version (one row), kept so nbprod 0.1 refuses newer schemas."""

    __tablename__ = "nbprod_schema"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class OwnedMixin:
    """Who runs the work (see :mod:`nbprod.history.owner`) and its last heartbeat."""

    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    owner_started: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BatchRow(OwnedMixin, Base):
    """A batch of runs."""

    __tablename__ = "nbprod_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    notebook: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    executor: Mapped[str] = mapped_column(String(32))
    jobs: Mapped[int] = mapped_column(Integer)
    output_dir: Mapped[str] = mapped_column(Text)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True))

    runs: Mapped[list[RunRow]] = relationship(back_populates="batch")


class RunRow(OwnedMixin, Base):
    """One run of a notebook (a run of a batch is owned by its batch)."""

    __tablename__ = "nbprod_runs"
    __table_args__ = (
        Index("ix_nbprod_runs_created", "created_at"),
        Index("ix_nbprod_runs_batch", "batch_id"),
        Index("ix_nbprod_runs_notebook", "notebook"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("nbprod_batches.id"))
    #: position of the parameter set in its batch
    position: Mapped[int | None] = mapped_column(Integer)
    notebook: Mapped[str] = mapped_column(Text)
    #: encoded losslessly (see nbprod.values.encode_value)
    parameters: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True))
    duration: Mapped[float | None] = mapped_column(Float)
    output_path: Mapped[str | None] = mapped_column(Text)
    error_cell: Mapped[int | None] = mapped_column(Integer)
    error_cell_id: Mapped[str | None] = mapped_column(String(128))
    error_name: Mapped[str | None] = mapped_column(Text)
    error_value: Mapped[str | None] = mapped_column(Text)
    git_commit: Mapped[str | None] = mapped_column(String(64))
    git_dirty: Mapped[bool | None] = mapped_column()
    kernel: Mapped[str | None] = mapped_column(String(128))
    nbprod_version: Mapped[str | None] = mapped_column(String(32))
    papermill_version: Mapped[str | None] = mapped_column(String(32))

    batch: Mapped[BatchRow | None] = relationship(back_populates="runs")
    metrics: Mapped[list[MetricRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="MetricRow.id"
    )


class MetricRow(Base):
    """A metric recorded by a run with ``nbprod.record``."""

    __tablename__ = "nbprod_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("nbprod_runs.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    value: Mapped[Any] = mapped_column(JSON)
    #: the value again when it is a number, so runs can be sorted and filtered by it
    number: Mapped[float | None] = mapped_column(Float)

    run: Mapped[RunRow] = relationship(back_populates="metrics")


class JobRow(Base):
    """Work the Jupyter server started in a worker process: a run, a batch, a gate or a push.

    The server keeps its in-flight work here rather than in memory, so a
    browser reload (or a second browser) sees it, and a restarted server can
    tell work whose worker died from work still going.
    """

    __tablename__ = "nbprod_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: ``run``, ``batch``, ``gate`` or ``push``
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    #: the run or batch the job executes
    target: Mapped[str | None] = mapped_column(String(64), index=True)
    pid: Mapped[int | None] = mapped_column(Integer)
    request: Mapped[Any] = mapped_column(JSON)
    #: progress: ``[{"name": ..., "status": ...}]``
    steps: Mapped[Any] = mapped_column(JSON)
    result: Mapped[Any] = mapped_column(JSON)
    error: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True))


class GateReportRow(Base):
    """One run of the quality gate (see :mod:`nbprod.gate.store`)."""

    __tablename__ = "nbprod_gate_reports"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[_dt.datetime] = mapped_column(
        DateTime(timezone=True), index=True
    )
    ok: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[str] = mapped_column(Text)
    duration: Mapped[float] = mapped_column(Float)
    git_commit: Mapped[str | None] = mapped_column(String(64))
    #: the whole report, as GateReport.to_dict()
    report: Mapped[Any] = mapped_column(JSON)
