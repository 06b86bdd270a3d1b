"""The plain app: broker and results on ``CELERY_BROKER_URL`` (the tests' Redis)."""

from __future__ import annotations

import os

from celery import Celery


def make_app(name: str) -> Celery:
    broker = os.environ["CELERY_BROKER_URL"]
    app = Celery(name, broker=broker, backend=broker, include=["poolprobe.tasks"])
    app.conf.task_default_queue = "default"
    # psycopg2 is imported at start, as a project's db module would be, so the tests can
    # see whether poolkit's adapter made it green.
    import psycopg2  # noqa: F401

    return app


app = make_app("poolprobe")
