"""Gate reports in the run history database (table ``nbprod_gate_reports``).

The table lives in the same database as the runs (same URL, same engine
settings through :class:`~nbprod.history.store.HistoryStore`) but has its own
declarative base, so the gate's one table stays out of the run history's
schema migrations: it is created on first use with ``checkfirst``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from nbprod.errors import ConfigError, NotFoundError
from nbprod.gate.report import GateReport


class GateBase(DeclarativeBase):
    """Base of the gate's table."""


class GateReportRow(GateBase):
    """One run of the quality gate."""

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


def _ensure_table(store: Any) -> None:
    try:
        GateReportRow.__table__.create(store.engine, checkfirst=True)  # type: ignore[attr-defined]
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"cannot open the gate reports at {store.url}: {exc}"
        ) from None


def save_report(store: Any, report: GateReport) -> None:
    """Store a gate report in the history.

    Parameters
    ----------
    store : HistoryStore
        The project's run history.
    report : GateReport
        The report to keep.
    """
    _ensure_table(store)
    with Session(store.engine) as session, session.begin():
        session.merge(
            GateReportRow(
                id=report.id,
                created_at=report.started_at,
                ok=report.ok,
                summary=report.summary(),
                duration=report.duration,
                git_commit=report.git_commit,
                report=report.to_dict(),
            )
        )


def list_reports(store: Any, limit: int | None = 20) -> list[GateReport]:
    """Return the stored gate reports, newest first."""
    _ensure_table(store)
    query = select(GateReportRow).order_by(
        GateReportRow.created_at.desc(), GateReportRow.id.desc()
    )
    if limit:
        query = query.limit(limit)
    with Session(store.engine) as session:
        return [GateReport.from_dict(row.report) for row in session.scalars(query)]


def get_report(store: Any, report_id: str) -> GateReport:
    """Return one stored gate report.

    Raises
    ------
    NotFoundError
        When no report has this id.
    """
    _ensure_table(store)
    with Session(store.engine) as session:
        row = session.get(GateReportRow, report_id)
        if row is None:
            raise NotFoundError(f"no gate report {report_id!r} in the history")
        return GateReport.from_dict(row.report)
