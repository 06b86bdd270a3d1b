"""The app. Celery's ``-P gevent`` has already monkey patched when this is imported."""

from __future__ import annotations

import os

from celery import Celery, signals
from gevent import monkey

MODE = os.environ.get("GREENDB_MODE", "poolkit")

# "poolkit": no code at all. celery-poolkit's psycopg2 adapter already ran from gevent's
# did_patch_all entry point during Celery's own `-P gevent` patching.
# "psycogreen" and "none" are the comparisons: they run with POOLKIT_DISABLE=1 in the
# worker's environment (poolkit's adapters off), and "psycogreen" patches by hand, the
# way projects do today.
if MODE == "psycogreen" and monkey.is_module_patched("socket"):
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()

_broker = os.environ["CELERY_BROKER_URL"]
# Results stay in Redis when the broker is RabbitMQ (CELERY_RESULT_BACKEND).
_backend = os.environ.get("CELERY_RESULT_BACKEND", _broker)
app = Celery("pgapp", broker=_broker, backend=_backend, include=["pgapp.tasks"])
app.conf.update(
    task_default_queue="greendb",
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    # PK307: resilient_query acks late on -P gevent -c 50, and Celery 5.7 acks in each
    # greenlet through kombu's Redis pool (10 connections by default). Unsized, a CI run
    # lost 18 acks with MaxConnectionsError and the restart test timed out.
    broker_transport_options={"max_connections": 100},
)


@signals.worker_ready.connect
def _say_ready(sender: object = None, **kwargs: object) -> None:
    # The harness waits for "<name> ready." in the log; Celery logs it at INFO only, and
    # the heavy runs use --loglevel=WARNING (two INFO lines per task cost CPU).
    print(f"{getattr(sender, 'hostname', 'worker')} ready.", flush=True)
