"""Gate reports in the run history database (table ``nbprod_gate_reports``).

The table is one of the history's models, created with the others when a
:class:`~nbprod.history.store.HistoryStore` opens the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from nbprod.errors import NotFoundError
from nbprod.gate.report import GateReport
from nbprod.history.models import GateReportRow

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore


def save_report(store: HistoryStore, report: GateReport) -> None:
    """Store a gate report in the history.

    Parameters
    ----------
    store : HistoryStore
        The project's run history.
    report : GateReport
        The report to keep.
    """
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


def list_reports(store: HistoryStore, limit: int | None = 20) -> list[GateReport]:
    """Return the stored gate reports, newest first."""
    query = select(GateReportRow).order_by(
        GateReportRow.created_at.desc(), GateReportRow.id.desc()
    )
    if limit:
        query = query.limit(limit)
    with Session(store.engine) as session:
        return [GateReport.from_dict(row.report) for row in session.scalars(query)]


def get_report(store: HistoryStore, report_id: str) -> GateReport:
    """Return one stored gate report.

    Raises
    ------
    NotFoundError
        When no report has this id.
    """
    with Session(store.engine) as session:
        row = session.get(GateReportRow, report_id)
        if row is None:
            raise NotFoundError(f"no gate report {report_id!r} in the history")
        return GateReport.from_dict(row.report)
