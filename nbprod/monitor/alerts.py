"""Alerts: fired when a check starts failing, resolved when it passes again; the webhook.

An alert is a change of state of one alerting check (by its key) of a
notebook: a check that keeps failing run after run fires once. A run in a
batch records its events but sends nothing; the batch sends one summary when
it ends, so a grid of 50 runs never sends 50 messages.

The webhook is a JSON POST signed with an ``X-Nbprod-Signature: sha256=<hex>``
header (HMAC-SHA256 of the body, keyed by the environment variable that
``webhook_secret_env`` names). It is sent from a background thread, retried
with exponential backoff, and never blocks or fails a run: the outcome of each
delivery (``delivered``/``failed``, the error, the attempts) is logged and
recorded with the alerts in the history.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbprod.config import ProjectConfig
from nbprod.monitor.checks import Check, MonitorReport

log = logging.getLogger("nbprod.monitor")

FIRED, RESOLVED = "fired", "resolved"
SIGNATURE_HEADER = "X-Nbprod-Signature"
#: how long a finishing process waits for webhook deliveries still under way
EXIT_WAIT = 30.0


def describe(check: Check) -> str:
    """What a check watches, in a few words."""
    if check.kind == "metric":
        return f"metric {check.metric} ({check.method})"
    if check.column is not None:
        return f"drift of {check.profile}.{check.column}"
    return f"drift of profile {check.profile}"


def state_changes(
    report: MonitorReport, states: dict[str, str]
) -> list[dict[str, Any]]:
    """The alert events a report causes, given the last event of every key.

    Parameters
    ----------
    report : MonitorReport
        The checks of a run.
    states : dict
        Check key to its last event (``fired`` or ``resolved``).

    Returns
    -------
    list of dict
        One event per alerting check whose state changed: ``fired`` when it
        fails and was not failing, ``resolved`` when it passes and was.
    """
    events = []
    for check in report.checks:
        if not check.alert:
            continue
        failing = states.get(check.key) == FIRED
        if check.ok == (not failing):
            continue
        event = RESOLVED if check.ok else FIRED
        what = describe(check)
        message = (
            f"{report.notebook}: {what} passes again in run {report.run}"
            if check.ok
            else f"{report.notebook}: {what} failed in run {report.run}: {check.detail}"
        )
        events.append(
            {
                "notebook": report.notebook,
                "key": check.key,
                "event": event,
                "run": report.run,
                "message": message,
                "check": check.to_dict(),
            }
        )
    return events


def record_alerts(
    config: ProjectConfig, report: MonitorReport, monitor: Any, batch_id: str | None
) -> list[dict[str, Any]]:
    """Store the alert events of a checked run; return them (with their ids).

    The events are marked ``pending`` delivery when a webhook is configured.
    """
    events = state_changes(report, monitor.alert_states(report.notebook))
    delivery = "pending" if config.monitor.webhook else "none"
    for event in events:
        event["batch"] = batch_id
        event["delivery"] = delivery
    for event, alert_id in zip(events, monitor.add_alerts(events), strict=True):
        event["id"] = alert_id
    return events


def payload(
    config: ProjectConfig, events: list[dict[str, Any]], batch_id: str | None
) -> dict[str, Any]:
    """The webhook's JSON body for some alert events (one run's, or a batch's summary)."""
    fired = sum(e["event"] == FIRED for e in events)
    resolved = len(events) - fired
    parts = [f"{fired} alert(s) fired"] if fired else []
    if resolved:
        parts.append(f"{resolved} resolved")
    runs = sorted({e["run"] for e in events})
    where = f"batch {batch_id}" if batch_id else f"run {runs[0]}" if runs else ""
    return {
        "source": "nbprod",
        "project": config.root.name,
        "batch": batch_id,
        "summary": f"{', '.join(parts)} ({where})" if parts else "no changes",
        "fired": fired,
        "resolved": resolved,
        "alerts": [
            {
                "event": e["event"],
                "notebook": e["notebook"],
                "run": e["run"],
                "key": e["key"],
                "message": e["message"],
                "check": e.get("check"),
            }
            for e in events
        ],
    }


def sign(body: bytes, secret: str) -> str:
    """The ``X-Nbprod-Signature`` value of a body: ``sha256=`` and the HMAC's hex digest."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass
class Delivery:
    """How sending one webhook went."""

    ok: bool
    attempts: int
    error: str | None = None


def post_webhook(
    url: str,
    body: dict[str, Any],
    secret: str | None,
    *,
    retries: int = 4,
    backoff: float = 0.5,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST a JSON body to a webhook, retrying with exponential backoff.

    Network errors, 5xx and 429 answers are retried (waits of ``backoff``,
    2x, 4x ... seconds); any other 4xx is final.

    Parameters
    ----------
    url : str
        The webhook.
    body : dict
        The JSON body.
    secret : str or None
        The HMAC key; without one the request is not signed.
    retries : int
        Attempts after the first.
    backoff : float
        The first wait, in seconds.
    timeout : float
        Seconds each attempt may take.
    sleep : callable
        How to wait (tests pass a recorder).

    Returns
    -------
    Delivery
        Whether it was delivered, after how many attempts, and the last error.
    """
    data = json.dumps(body, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "nbprod-monitor"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(data, secret)
    error = None
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
            return Delivery(True, attempt)
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500 and exc.code != 429:
                return Delivery(False, attempt, error)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"{type(exc).__name__}: {reason}"
        if attempt <= retries:
            sleep(backoff * 2 ** (attempt - 1))
    return Delivery(False, retries + 1, error)


_pending: list[threading.Thread] = []
_pending_lock = threading.Lock()


def _wait_for_deliveries(limit: float = EXIT_WAIT) -> None:
    """Give deliveries still under way a bounded time to finish (at interpreter exit)."""
    deadline = time.monotonic() + limit
    with _pending_lock:
        threads = list(_pending)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


atexit.register(_wait_for_deliveries)


def deliver(
    config: ProjectConfig,
    events: list[dict[str, Any]],
    batch_id: str | None = None,
    *,
    background: bool = True,
    retries: int = 4,
    backoff: float = 0.5,
) -> threading.Thread | Delivery | None:
    """Send alert events to the configured webhook and record how it went.

    Parameters
    ----------
    config : ProjectConfig
        The project (``webhook``, ``webhook_secret_env``, the history's URL).
    events : list of dict
        Stored alert events (with ``id``), from :func:`record_alerts`.
    batch_id : str, optional
        The batch the events summarise.
    background : bool
        Send from a thread (the default: never block a run); False sends now.
    retries, backoff : int, float
        See :func:`post_webhook`.

    Returns
    -------
    Thread, Delivery or None
        The thread sending, the delivery (``background=False``), or None when
        there is no webhook or nothing to send.
    """
    url = config.monitor.webhook
    if not url or not events:
        return None
    body = payload(config, events, batch_id)
    ids = [e["id"] for e in events if "id" in e]
    secret_env = config.monitor.webhook_secret_env
    secret = os.environ.get(secret_env) if secret_env else None
    database_url = config.database_url

    def send() -> Delivery:
        if secret_env and not secret:
            result = Delivery(
                False,
                0,
                f"the environment variable {secret_env} (webhook_secret_env) is not set",
            )
        else:
            result = post_webhook(url, body, secret, retries=retries, backoff=backoff)
        if result.ok:
            log.info("nbprod: webhook delivered %d alert(s) to %s", len(events), url)
        else:
            log.warning("nbprod: webhook delivery to %s failed: %s", url, result.error)
        _record_delivery(database_url, ids, result)
        return result

    if not background:
        return send()

    def run() -> None:
        try:
            send()
        except Exception:  # a delivery never takes a run down, even a bug's
            log.exception("nbprod: webhook delivery crashed")
        finally:
            with _pending_lock:
                _pending.remove(threading.current_thread())

    thread = threading.Thread(target=run, name="nbprod-webhook", daemon=True)
    with _pending_lock:
        _pending.append(thread)
    thread.start()
    return thread


def _record_delivery(database_url: str, ids: list[int], result: Delivery) -> None:
    from nbprod.history.monitor_store import MonitorStore
    from nbprod.history.store import HistoryStore

    store = HistoryStore(database_url)
    try:
        MonitorStore(store).set_delivery(
            ids, "delivered" if result.ok else "failed", result.error, result.attempts
        )
    finally:
        store.close()
