"""The one call the runners make when a run (or a batch) ends: store, check, alert.

:func:`monitor_finished_run` reads the profiles out of the run's output
notebook, stores them, checks the run against its baseline, stores the checks
and the alert events, and (outside a batch) sends them to the webhook in the
background. :func:`monitor_finished_batch` sends a batch's one summary.
Neither ever raises or changes the run: monitoring never fails a run; a
problem is logged (a configuration error is also what ``nbprod monitor``
reports).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.config import ProjectConfig
from nbprod.errors import NbprodError
from nbprod.history.records import SUCCEEDED, RunRecord
from nbprod.monitor.profile import PROFILE_MIME, read_profiles

if TYPE_CHECKING:
    from nbprod.history.store import HistoryStore

log = logging.getLogger("nbprod.monitor")


def output_profiles(config: ProjectConfig, record: RunRecord) -> dict[str, Any]:
    """The profiles recorded in a run's output notebook (empty without any)."""
    if not record.output_path:
        return {}
    path = Path(record.output_path)
    path = path if path.is_absolute() else config.root / path
    try:
        text = path.read_text("utf-8")
    except OSError:
        return {}
    if PROFILE_MIME not in text:  # the common case costs one substring search
        return {}
    try:
        return read_profiles(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return {}


def monitor_finished_run(
    config: ProjectConfig, record: RunRecord, store: HistoryStore
) -> Any:
    """Store a finished run's profiles, check it, record and send its alerts.

    Only succeeded runs are checked (a failed run's data stops part-way);
    their profiles are stored all the same. Runs of notebooks with neither
    profiles nor a monitor table are left alone.

    Parameters
    ----------
    config : ProjectConfig
        The project.
    record : RunRecord
        The run, as recorded when it ended.
    store : HistoryStore
        The history.

    Returns
    -------
    MonitorReport or None
        The report, or None when the run was not checked. Never raises.
    """
    try:
        from nbprod.history.monitor_store import MonitorStore
        from nbprod.monitor.alerts import deliver, record_alerts
        from nbprod.monitor.checks import check_run

        profiles = output_profiles(config, record)
        configured = config.monitor.for_notebook(record.notebook) is not None
        if not profiles and not configured:
            return None
        monitor = MonitorStore(store)
        if profiles:
            monitor.save_profiles(record.id, profiles)
        if record.status != SUCCEEDED:
            return None
        report = check_run(config, record, store)
        monitor.save_checks(
            record.id,
            record.notebook,
            report.baseline,
            [c.to_dict() for c in report.checks],
        )
        events = record_alerts(config, report, monitor, record.batch_id)
        if events and record.batch_id is None:
            deliver(config, events)
        return report
    except NbprodError as exc:
        log.warning("nbprod: monitoring run %s: %s", record.id, exc.message)
    except Exception:  # monitoring never takes a run down, not even a bug's
        log.exception("nbprod: monitoring run %s failed", record.id)
    return None


def monitor_finished_batch(
    config: ProjectConfig, store: HistoryStore, batch_id: str
) -> None:
    """Send the one webhook summary of a batch's alert events. Never raises."""
    try:
        from nbprod.history.monitor_store import MonitorStore
        from nbprod.monitor.alerts import deliver

        events = [
            e
            for e in MonitorStore(store).list_alerts(batch_id=batch_id, limit=10_000)
            if e["delivery"] == "pending"
        ]
        if events:
            deliver(config, events, batch_id)
    except Exception:
        log.exception("nbprod: the alert summary of batch %s failed", batch_id)
