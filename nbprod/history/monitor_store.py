"""Reading and writing the monitoring tables (profiles, checks, alerts, baselines).

Plain dicts go in and out, so the history knows nothing of the monitor's
dataclasses (the monitor layer sits above this one).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from nbprod.history.models import RunRow
from nbprod.history.monitor_models import AlertRow, BaselineRow, CheckRow, ProfileRow
from nbprod.history.records import SUCCEEDED, now

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore

#: the fields of a check as the monitor hands them over
CHECK_FIELDS = (
    "key",
    "kind",
    "profile",
    "column",
    "metric",
    "method",
    "statistic",
    "threshold",
    "ok",
    "alert",
    "detail",
    "value",
)


def _utc(value: _dt.datetime | None) -> _dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=_dt.timezone.utc)
    return value


def _notebook_filter(column: Any, notebook: str) -> Any:
    return or_(column == notebook, column.endswith("/" + notebook, autoescape=True))


class MonitorStore:
    """The monitoring tables of a run history.

    Parameters
    ----------
    store : HistoryStore
        The history (its engine is shared).
    """

    def __init__(self, store: HistoryStore) -> None:
        self.engine = store.engine

    # -- profiles ----------------------------------------------------------------

    def save_profiles(self, run_id: str, profiles: dict[str, Any]) -> None:
        """Store a run's profiles, replacing any stored before."""
        with Session(self.engine) as session, session.begin():
            session.execute(delete(ProfileRow).where(ProfileRow.run_id == run_id))
            for name, profile in profiles.items():
                session.add(ProfileRow(run_id=run_id, name=name, profile=profile))

    def get_profiles(self, run_id: str) -> dict[str, Any]:
        """A run's profiles by name (empty when it recorded none)."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ProfileRow)
                .where(ProfileRow.run_id == run_id)
                .order_by(ProfileRow.id)
            )
            return {row.name: row.profile for row in rows}

    def has_profiles(self, run_id: str) -> bool:
        """Whether a run recorded any profile."""
        with Session(self.engine) as session:
            return bool(
                session.scalar(
                    select(func.count(ProfileRow.id)).where(ProfileRow.run_id == run_id)
                )
            )

    # -- checks ------------------------------------------------------------------

    def save_checks(
        self,
        run_id: str,
        notebook: str,
        baseline_run_id: str | None,
        checks: Iterable[dict[str, Any]],
    ) -> None:
        """Store the checks of a run, replacing the ones of an earlier check of it."""
        stamp = now()
        with Session(self.engine) as session, session.begin():
            session.execute(delete(CheckRow).where(CheckRow.run_id == run_id))
            for check in checks:
                session.add(
                    CheckRow(
                        run_id=run_id,
                        notebook=notebook,
                        baseline_run_id=baseline_run_id,
                        created_at=stamp,
                        **{k: check.get(k) for k in CHECK_FIELDS},
                    )
                )

    def get_checks(self, run_id: str) -> tuple[str | None, list[dict[str, Any]]] | None:
        """The baseline and checks stored for a run; None when it was never checked."""
        with Session(self.engine) as session:
            rows = list(
                session.scalars(
                    select(CheckRow)
                    .where(CheckRow.run_id == run_id)
                    .order_by(CheckRow.id)
                )
            )
        if not rows:
            return None
        return rows[0].baseline_run_id, [self._check(row) for row in rows]

    @staticmethod
    def _check(row: CheckRow) -> dict[str, Any]:
        check = {k: getattr(row, k) for k in CHECK_FIELDS}
        check["run"] = row.run_id
        check["baseline"] = row.baseline_run_id
        check["created_at"] = _utc(row.created_at)
        return check

    def check_series(
        self, notebook: str, key: str, limit: int = 100
    ) -> list[dict[str, Any]]:
        """One check (by key) across the runs of a notebook, oldest first."""
        query = (
            select(CheckRow, RunRow.created_at)
            .join(RunRow, RunRow.id == CheckRow.run_id)
            .where(_notebook_filter(CheckRow.notebook, notebook), CheckRow.key == key)
            .order_by(RunRow.created_at.desc(), RunRow.id.desc())
            .limit(limit)
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        series = []
        for row, run_created in reversed(rows):
            check = self._check(row)
            check["run_created_at"] = _utc(run_created)
            series.append(check)
        return series

    def checked_notebooks(self) -> list[str]:
        """Notebooks with stored profiles or checks."""
        with Session(self.engine) as session:
            checked = set(session.scalars(select(CheckRow.notebook).distinct()))
            profiled = set(
                session.scalars(
                    select(RunRow.notebook)
                    .join(ProfileRow, ProfileRow.run_id == RunRow.id)
                    .distinct()
                )
            )
        return sorted(checked | profiled)

    # -- baselines ---------------------------------------------------------------

    def pin_baseline(self, notebook: str, run_id: str) -> _dt.datetime:
        """Record ``run_id`` as the notebook's baseline from now on; return the time."""
        stamp = now()
        with Session(self.engine) as session, session.begin():
            session.add(BaselineRow(notebook=notebook, run_id=run_id, set_at=stamp))
        return stamp

    def pinned_baseline(self, notebook: str) -> tuple[str, _dt.datetime] | None:
        """The latest pinned baseline of a notebook and when it was pinned."""
        with Session(self.engine) as session:
            row = session.scalars(
                select(BaselineRow)
                .where(BaselineRow.notebook == notebook)
                .order_by(BaselineRow.set_at.desc(), BaselineRow.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return row.run_id, _utc(row.set_at) or row.set_at

    def succeeded_run_ids(
        self, notebook: str, before: _dt.datetime | None = None, first: bool = True
    ) -> str | None:
        """The first (or, with ``first=False``, the latest) succeeded run of a notebook.

        ``before`` keeps only runs created before that time.
        """
        query = select(RunRow.id).where(
            RunRow.notebook == notebook, RunRow.status == SUCCEEDED
        )
        if before is not None:
            query = query.where(RunRow.created_at < before)
        order = (
            (RunRow.created_at, RunRow.id)
            if first
            else (RunRow.created_at.desc(), RunRow.id.desc())
        )
        with Session(self.engine) as session:
            return session.scalars(query.order_by(*order).limit(1)).first()

    # -- alerts ------------------------------------------------------------------

    def alert_states(self, notebook: str) -> dict[str, str]:
        """The last event (``fired``/``resolved``) of every check key of a notebook."""
        latest = (
            select(AlertRow.key, func.max(AlertRow.id).label("last"))
            .where(AlertRow.notebook == notebook)
            .group_by(AlertRow.key)
            .subquery()
        )
        query = select(AlertRow.key, AlertRow.event).join(
            latest, AlertRow.id == latest.c.last
        )
        with Session(self.engine) as session:
            return {key: event for key, event in session.execute(query)}

    def add_alerts(self, alerts: Iterable[dict[str, Any]]) -> list[int]:
        """Store alert events; return their ids."""
        rows = []
        with Session(self.engine) as session, session.begin():
            for alert in alerts:
                row = AlertRow(
                    notebook=alert["notebook"],
                    key=alert["key"],
                    event=alert["event"],
                    run_id=alert["run"],
                    batch_id=alert.get("batch"),
                    message=alert["message"],
                    check=alert.get("check"),
                    created_at=alert.get("created_at") or now(),
                    delivery=alert.get("delivery", "none"),
                    attempts=0,
                )
                session.add(row)
                rows.append(row)
            session.flush()
            return [row.id for row in rows]

    def list_alerts(
        self,
        since: _dt.datetime | None = None,
        notebook: str | None = None,
        batch_id: str | None = None,
        run_ids: Iterable[str] | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Alert events, oldest first (the latest ``limit`` of them)."""
        query = select(AlertRow)
        if since is not None:
            query = query.where(AlertRow.created_at > since)
        if notebook:
            query = query.where(_notebook_filter(AlertRow.notebook, notebook))
        if batch_id:
            query = query.where(AlertRow.batch_id == batch_id)
        if run_ids is not None:
            query = query.where(AlertRow.run_id.in_(list(run_ids)))
        query = query.order_by(AlertRow.id.desc()).limit(limit)
        with Session(self.engine) as session:
            rows = list(session.scalars(query))
        return [
            {
                "id": row.id,
                "notebook": row.notebook,
                "key": row.key,
                "event": row.event,
                "run": row.run_id,
                "batch": row.batch_id,
                "message": row.message,
                "check": row.check,
                "created_at": _utc(row.created_at),
                "delivery": row.delivery,
                "delivery_error": row.delivery_error,
                "attempts": row.attempts,
            }
            for row in reversed(rows)
        ]

    def set_delivery(
        self, alert_ids: Iterable[int], delivery: str, error: str | None, attempts: int
    ) -> None:
        """Record how the webhook delivery of some alerts went."""
        ids = list(alert_ids)
        if not ids:
            return
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(AlertRow)
                .where(AlertRow.id.in_(ids))
                .values(delivery=delivery, delivery_error=error, attempts=attempts)
            )
