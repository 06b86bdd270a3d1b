"""``proj``'s app: gevent by configuration, broker from ``CELERY_BROKER_URL``.

The docs' examples run against it: ``poolkit worker -A proj`` finds ``worker_pool`` here,
and ``poolkit doctor -A proj`` reads it.
"""

from __future__ import annotations

import os

from celery import Celery

app = Celery(
    "proj",
    broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    include=["proj.tasks"],
)
app.conf.worker_pool = "gevent"
app.conf.task_default_queue = "http"
