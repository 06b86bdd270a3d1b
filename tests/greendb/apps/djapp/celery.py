"""The Celery app of the Django project (the layout Celery's Django guide uses).

``DJAPP_ENGINE`` picks the database setup: ``poolkit`` (celery-poolkit's pooled psycopg2
backend, the default), ``stock`` (Django's backend on psycopg2, one connection per
greenlet), ``native`` (Django's own pool on psycopg 3).
"""

from __future__ import annotations

import os
import sys

from celery import Celery, signals

ENGINE = os.environ.get("DJAPP_ENGINE", "poolkit")

if ENGINE != "native":
    # A psycopg2-only install: Django prefers psycopg 3 when it can import it, and this
    # machine has both. Blocking the import is what "not installed" looks like to Django.
    # psycopg2 is green with no code here: celery-poolkit's adapter ran from gevent's
    # did_patch_all entry point during Celery's own `-P gevent` patching.
    sys.modules["psycopg"] = None  # type: ignore[assignment]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djapp.settings")

app = Celery("djapp", include=["djapp.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")

if os.environ.get("DJAPP_METRICS_PORT"):  # the metrics test: poolkit's step, serving them
    import celery_poolkit

    celery_poolkit.install(app, metrics_port=int(os.environ["DJAPP_METRICS_PORT"]),
                           metrics_address="127.0.0.1")  # fmt: skip


@signals.worker_ready.connect
def _say_ready(sender: object = None, **kwargs: object) -> None:
    # The harness waits for "<name> ready." in the log; Celery logs it at INFO only, and
    # the heavy runs use --loglevel=WARNING (two INFO lines per task cost CPU).
    print(f"{getattr(sender, 'hostname', 'worker')} ready.", flush=True)
