"""The Celery app of the benchmark; configured from ``BENCH_*`` environment variables.

Results are ignored (no result backend): completion and timing are reported by the
task-side hooks in :mod:`benchapp.instrument`, so the driver never waits on result
messages and the worker does no result-backend work that a real queue might not do.
"""

from __future__ import annotations

import os

from celery import Celery

WORKLOADS = ("http_io", "db_io", "sleep", "cpu_py", "cpu_nogil", "mixed")

app = Celery("benchapp", include=[f"benchapp.{name}.tasks" for name in WORKLOADS])
app.conf.update(
    broker_url=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0"),
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    # Everything else (prefetch multiplier, acks) stays at Celery's defaults: the suite
    # measures the pools as users get them.
)

# Imported for its signal handlers, after the app exists.
from benchapp import instrument  # noqa: E402, F401
