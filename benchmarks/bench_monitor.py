"""Cost of monitoring: ``nbprod.profile`` against ``DataFrame.describe()``, and one run's check.

Side by side in one run, on the same frame:

- building the profile of a 1 000 000-row x 20-column numeric DataFrame (what
  ``nbprod.profile`` does before it displays it) against ``DataFrame.describe()``
  on that frame, the summary a data scientist would print instead.
  Target: at most 3x describe().
- checking one run with a 50-column profile (200 000 rows: numeric, low-cardinality
  and categorical columns) against its baseline in a real SQLite history:
  reading both profiles, every drift test, the share rule, the metric rules.
  Target: under 200 ms.

Run with ``make bench`` or ``python benchmarks/bench_monitor.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nbprod.config import load_config
from nbprod.history.monitor_store import MonitorStore
from nbprod.history.records import SUCCEEDED, RunRecord
from nbprod.history.store import HistoryStore
from nbprod.monitor.checks import check_run
from nbprod.monitor.profile import build_profile


def timed(function, repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def wide_frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """50 columns: 30 normal, 10 with few distinct values, 10 categorical."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        rng.normal(shift, 1, size=(rows, 30)), columns=[f"x{i}" for i in range(30)]
    )
    for i in range(10):
        frame[f"k{i}"] = rng.integers(0, 4, rows)
    for i in range(10):
        frame[f"c{i}"] = rng.choice([f"segment-{j}" for j in range(40)], rows)
    return frame


def bench_check(repeat: int) -> tuple[list[float], int]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(
            '[tool.nbprod]\npackage = "bench"\n'
            '[tool.nbprod.monitor."score.ipynb"]\n'
            "metrics = { rate = { max = 0.5, max_drop = 0.1 } }\n"
        )
        config = load_config(root)
        store = HistoryStore(config.database_url)
        monitor = MonitorStore(store)
        runs = []
        start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        for index, shift in enumerate((0.0, 0.2)):
            record = RunRecord(
                id=f"run-{index}",
                batch_id=None,
                notebook="score.ipynb",
                parameters={},
                created_at=start + dt.timedelta(minutes=index),
                status=SUCCEEDED,
                metrics={"rate": 0.3},
            )
            store.add_run(record)
            store.update_run(record)
            profile = build_profile("input", wide_frame(200_000, index, shift))
            monitor.save_profiles(record.id, {"input": profile})
            runs.append(record)
        size = len(json.dumps(monitor.get_profiles("run-1")))
        report = check_run(config, runs[1], store)
        assert len(report.checks) == 50 + 1 + 2, len(report.checks)
        times = timed(lambda: check_run(config, runs[1], store), repeat)
        store.close()
    return times, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f}")

    frame = pd.DataFrame(
        np.random.default_rng(0).normal(size=(1_000_000, 20)),
        columns=[f"x{i}" for i in range(20)],
    )
    # alternate the two so a change of machine load hits both alike
    profile_times, describe_times = [], []
    for _ in range(args.repeat):
        profile_times += timed(lambda: build_profile("input", frame), 1)
        describe_times += timed(frame.describe, 1)
    profile_median = statistics.median(profile_times)
    describe_median = statistics.median(describe_times)
    ratio = profile_median / describe_median
    size = len(json.dumps(build_profile("input", frame)))
    print("\n1 000 000 rows x 20 numeric columns (median of", args.repeat, "runs)")
    print(f"  DataFrame.describe()   {describe_median * 1000:8.0f} ms")
    print(
        f"  nbprod.profile         {profile_median * 1000:8.0f} ms  "
        f"({ratio:.2f}x describe, target <= 3x: {'ok' if ratio <= 3 else 'MISSED'})"
    )
    print(f"  profile JSON           {size / 1024:8.1f} KiB")

    check_times, check_size = bench_check(args.repeat)
    check_median = statistics.median(check_times)
    print("\nchecking one run, 50 profiled columns x 200 000 rows, vs its baseline")
    print(
        f"  check_run              {check_median * 1000:8.0f} ms  "
        f"(target < 200 ms: {'ok' if check_median < 0.2 else 'MISSED'}; "
        f"profile {check_size / 1024:.0f} KiB)"
    )


if __name__ == "__main__":
    main()
