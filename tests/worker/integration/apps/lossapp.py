"""An app that counts every task run in Redis, for the message-loss tests.

``lossapp.step`` sleeps a little (green under gevent), then adds one to its number's count
in the hash ``LOSS_COUNTS`` of the Redis at ``LOSS_COUNTS_URL``: a task that ran twice has
2, a lost one is missing. The broker is ``CELERY_BROKER_URL`` (Redis or RabbitMQ), with
late acks, so a worker killed mid-run leaves its messages unacknowledged, and kombu's
``visibility_timeout`` from ``LOSS_VISIBILITY_TIMEOUT`` (seconds). ``LOSS_POOLKIT=0``
leaves poolkit's step out (the without-poolkit control of ``benchmarks/broker_restart.py``).
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

import celery_poolkit

app = Celery("lossapp", broker=os.environ["CELERY_BROKER_URL"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_default_queue="loss",
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": float(os.environ.get("LOSS_VISIBILITY_TIMEOUT", "3600")),
        "max_connections": 200,  # PK307: -c 20 acks from 20 greenlets at once
    },
    worker_hijack_root_logger=True,
)
if os.environ.get("LOSS_POOLKIT", "1") != "0":
    celery_poolkit.install(app)

_counts = redis.Redis.from_url(os.environ["LOSS_COUNTS_URL"], max_connections=200)


@app.task(name="lossapp.step")
def step(n: int, seconds: float = 0.02) -> None:
    time.sleep(seconds)
    # The count lives on the broker's Redis, which a test may be restarting: keep trying
    # (for 60 s at most), so a task that ran is never counted as lost.
    deadline = time.monotonic() + 60
    while True:
        try:
            _counts.hincrby("loss:runs", str(n), 1)
            return
        except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
