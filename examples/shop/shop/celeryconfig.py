"""Celery configuration.

With no environment set, the broker is kombu's filesystem transport and results go to
files under ``SHOP_DATA_DIR``: the project runs with no server installed. Setting one
variable, ``CELERY_BROKER_URL=redis://127.0.0.1:6379/0``, moves both the broker and the
result backend to Redis (``CELERY_RESULT_BACKEND`` overrides the backend on its own).
"""

from __future__ import annotations

import os

from kombu import Exchange, Queue

from shop import settings

_broker = os.environ.get("CELERY_BROKER_URL", "filesystem://")

broker_url = _broker
if _broker.startswith("filesystem://"):
    _queues = settings.DATA_DIR / "broker"
    _control = settings.DATA_DIR / "control"
    for _folder in (_queues, _control, settings.DATA_DIR / "results"):
        _folder.mkdir(parents=True, exist_ok=True)
    broker_transport_options = {
        "data_folder_in": str(_queues),
        "data_folder_out": str(_queues),
        "control_folder": str(_control),
        "store_processed": False,
    }
    result_backend = os.environ.get(
        "CELERY_RESULT_BACKEND", f"file://{settings.DATA_DIR / 'results'}"
    )
else:
    result_backend = os.environ.get("CELERY_RESULT_BACKEND", _broker)
    # kombu's Redis transport caps each connection pool at 10 connections. A gevent
    # worker at -c 50 with acks_late acks from up to 50 greenlets at once: past 10 it
    # fails with MaxConnectionsError and acks (then results) are lost. Size the pool
    # above the largest concurrency any worker of this app runs with.
    broker_transport_options = {"max_connections": 200}
    redis_max_connections = 200

task_default_queue = "default"
task_queues = (
    Queue("default", Exchange("default"), routing_key="default"),
    Queue(settings.HTTP_QUEUE, Exchange("http"), routing_key="http"),
    Queue("db", Exchange("db"), routing_key="db"),
    Queue("images", Exchange("images"), routing_key="images"),
    Queue("email", Exchange("email"), routing_key="email"),
)
task_routes = {
    "shop.tasks.payments.*": {"queue": settings.HTTP_QUEUE},
    "shop.tasks.reports.*": {"queue": "db"},
    "shop.send_order_confirmation": "email",
}

task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 4
result_expires = 3600
timezone = "UTC"
