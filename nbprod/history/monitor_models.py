"""SQLAlchemy models of monitoring: profiles, checks, alerts and pinned baselines.

Kept apart from :mod:`nbprod.history.models` (the runs); they share its
``Base``. The tables are created by the Alembic revision ``0003_monitoring``.
"""

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from nbprod.history.models import Base


class ProfileRow(Base):
    """A profile a run recorded with ``nbprod.profile`` (the JSON of the profile)."""

    __tablename__ = "nbprod_profiles"
    __table_args__ = (
        UniqueConstraint("run_id", "name", name="uq_nbprod_profiles_run_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("nbprod_runs.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    profile: Mapped[Any] = mapped_column(JSON)


class CheckRow(Base):
    """One check of a run against its baseline: the audit trail of monitoring."""

    __tablename__ = "nbprod_checks"
    __table_args__ = (
        Index("ix_nbprod_checks_run", "run_id"),
        Index("ix_nbprod_checks_notebook_key", "notebook", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("nbprod_runs.id"))
    notebook: Mapped[str] = mapped_column(Text)
    baseline_run_id: Mapped[str | None] = mapped_column(String(64))
    #: what the check is about, stable across runs: ``drift:input:tenure``
    key: Mapped[str] = mapped_column(String(512))
    #: ``drift`` or ``metric``
    kind: Mapped[str] = mapped_column(String(16))
    profile: Mapped[str | None] = mapped_column(String(256))
    column: Mapped[str | None] = mapped_column(String(256))
    metric: Mapped[str | None] = mapped_column(String(256))
    method: Mapped[str] = mapped_column(String(64))
    statistic: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)
    #: whether a failure of this check is an alert (column checks inside the
    #: share rule are not)
    alert: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))


class AlertRow(Base):
    """A change of state of one check: it started failing (``fired``) or passes again."""

    __tablename__ = "nbprod_alerts"
    __table_args__ = (
        Index("ix_nbprod_alerts_created", "created_at"),
        Index("ix_nbprod_alerts_notebook_key", "notebook", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notebook: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(512))
    #: ``fired`` or ``resolved``
    event: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    check: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
    #: webhook delivery: ``none`` (no webhook), ``pending``, ``delivered``, ``failed``
    delivery: Mapped[str] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class BaselineRow(Base):
    """A baseline pinned with ``nbprod monitor --set-baseline`` (the latest one counts)."""

    __tablename__ = "nbprod_baselines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notebook: Mapped[str] = mapped_column(Text, index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
