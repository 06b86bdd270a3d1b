"""Unit tests of the pool benchmark's pure logic (benchmarks/pools/poolbench).

The suite is not part of the wheel; its package is imported from the source tree.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

POOLS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "pools"
if str(POOLS_DIR) not in sys.path:
    sys.path.insert(0, str(POOLS_DIR))


def make_cell(config: str, workload: str, repeats: list[float], **over: Any) -> dict[str, Any]:
    """A cell of results.json as the suite writes it (see poolbench.results)."""
    pool = config.split("+", maxsplit=1)[0].split(" ", maxsplit=1)[0]
    median = sorted(repeats)[len(repeats) // 2] if repeats else None
    limit = over.pop("limit", 1000.0)
    cell = {
        "config": config, "pool": pool, "concurrency": over.pop("concurrency", 50),
        "launcher": "poolkit" if "+poolkit" in config else "celery",
        "deprecated": pool == "eventlet", "advised": False, "workload": workload,
        "status": "ok" if repeats else "unavailable",
        "reason": "" if repeats else "`poolkit worker` is not in this poolkit",
        "argv": [], "limit": limit, "tasks_per_s": median, "repeats": repeats,
        "spread": (max(repeats) - min(repeats)) / median if repeats and median else None,
        "share_of_limit": median / limit if median else None, "disturbed": False,
        "median_task_ms": 51.0, "peak_rss_mib": 60.0, "peak_pss_mib": 50.0, "processes": 1,
        "peak_pg_connections": 50 if workload == "db_io" else 0,
        "worker": {"psycopg2_wait_callback": None}, "warmup": {},
        "batches": [
            {"n": 100, "wall_s": 100 / r, "tasks_per_s": r, "median_task_ms": 51.0,
             "pg_connections": 50, "foreign_cores": 0.05, "machine_busy": 0.6,
             "disturbed": False, "used": True}
            for r in repeats
        ],
        "seconds": 10.0,
    }  # fmt: skip
    cell.update(over)
    return cell


@pytest.fixture
def doc() -> dict[str, Any]:
    cells = [
        make_cell("prefork", "db_io", [38.0, 39.0, 39.5], concurrency=2),
        make_cell("threads", "db_io", [600.0, 640.0, 650.0]),
        make_cell("gevent", "db_io", [19.0, 19.2, 19.1],
                  worker={"psycopg2_wait_callback": None}),
        make_cell("gevent+poolkit", "db_io", []),
        make_cell("eventlet", "db_io", [700.0, 720.0, 730.0]),
        make_cell("prefork", "cpu_py", [31.0, 32.0, 33.0], concurrency=2, limit=40.0),
        make_cell("threads", "cpu_py", [18.0, 18.5, 19.0], limit=40.0),
        make_cell("gevent", "cpu_py", [16.5, 16.8, 17.0], limit=40.0),
        make_cell("gevent+poolkit", "cpu_py", [], limit=40.0),
        make_cell("eventlet", "cpu_py", [17.0, 17.8, 18.0], limit=40.0),
    ]  # fmt: skip
    return {
        "schema": 1, "mode": "full", "started_utc": "20261121T083000Z", "duration_s": 900.0,
        "argv": [], "machine": {"cores": 2, "memory_gib": 23.5, "kernel": "6.1"},
        "versions": {"python": "3.11.7", "celery": "5.7.0", "gevent": "26.9.0",
                     "eventlet": "0.41.3", "psycopg2-binary": "2.9.13", "psycogreen": "1.0.2",
                     "celery-poolkit": "0.1.0"},
        "settings": {}, "calibration": {"cpu_py_rounds": 900000, "cpu_py_ms": 50.0,
                                        "pbkdf2_iterations": 220000, "pbkdf2_ms": 50.0},
        "noise": {"median_spread": 0.04, "max_spread": 0.08, "configurations": 8},
        "guard": {"batches": 24, "retried": 1, "used_disturbed": 0,
                  "foreign_cores_median": 0.05, "foreign_cores_max": 0.2, "rule": "rule"},
        "cells": cells,
        "advisor": [
            {"workload": "db_io", "passed": True, "reason": "recommended configuration is the "
             "fastest measured", "recommended": "threads", "command": "celery -A x worker",
             "recommended_tps": 640.0, "best": "threads", "best_tps": 640.0, "ratio": 1.0,
             "within_noise": True},
            {"workload": "cpu_py", "passed": False, "reason": "advisor unavailable: output is "
             "not JSON (exit code 2): Usage: poolkit advise", "recommended": None,
             "command": None, "recommended_tps": None, "best": None, "best_tps": None,
             "ratio": None, "within_noise": None},
        ],
    }  # fmt: skip
