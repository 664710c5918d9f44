"""Monitoring fixtures: runs recorded straight into a real history, a real webhook receiver."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from nbprod.config import load_config
from nbprod.history.monitor_store import MonitorStore
from nbprod.history.records import SUCCEEDED, RunRecord
from nbprod.history.store import HistoryStore
from nbprod.monitor.checks import check_run
from nbprod.monitor.profile import build_profile

NOTEBOOK = "notebooks/score.ipynb"
MONITOR = """
[tool.nbprod.monitor."notebooks/score.ipynb"]
metrics = { churn_rate = { max = 0.4 }, auc = { min = 0.75, max_drop = 0.05 } }
drift = { share = 0.5, columns = { tenure = { method = "ks", threshold = 0.01 } } }
"""


def make_project(tmp_path: Path, extra: str = MONITOR) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.nbprod]\npackage = "demo"\n{extra}'
    )
    return tmp_path


def data(seed: int, shift: float = 0.0, n: int = 400) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "tenure": rng.normal(24 + shift * 10, 10, n),
        "calls": rng.poisson(2 + shift * 2, n).astype(float),
        "plan": rng.choice(["basic", "plus", "pro"], n).astype(object),
        "age": rng.normal(40, 12, n),
    }


class History:
    """Runs recorded straight into a real history, as the runners would."""

    def __init__(self, root: Path) -> None:
        self.config = load_config(root)
        self.store = HistoryStore(self.config.database_url)
        self.monitor = MonitorStore(self.store)
        self.clock = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

    def run(
        self, metrics: dict, profile: dict | None, batch: str | None = None
    ) -> RunRecord:
        self.clock += dt.timedelta(minutes=1)
        record = RunRecord(
            id=f"r{self.clock:%H%M}",
            batch_id=None,
            notebook=NOTEBOOK,
            parameters={},
            created_at=self.clock,
            status=SUCCEEDED,
            metrics=metrics,
        )
        self.store.add_run(record)
        self.store.update_run(record)
        record.batch_id = batch
        if profile is not None:
            self.monitor.save_profiles(
                record.id, {"input": build_profile("input", profile)}
            )
        return record

    def check(self, record: RunRecord, **kwargs):
        report = check_run(self.config, record, self.store, **kwargs)
        self.monitor.save_checks(
            record.id,
            record.notebook,
            report.baseline,
            [c.to_dict() for c in report.checks],
        )
        return report


class Receiver:
    """A real local HTTP server recording what webhooks POST; fails the first ``fail`` times."""

    def __init__(self, fail: int = 0) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = 503 if len(receiver.requests) <= receiver.fail else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
