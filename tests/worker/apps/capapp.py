"""A gevent app that acks late on Redis, with kombu's connection cap left as it is unless
POOLKIT_TEST_MAX_CONNECTIONS sets it: the connection-budget tests (PK307)."""

from __future__ import annotations

import os
import time

from celery import Celery

import celery_poolkit

app = Celery("capapp", broker=os.environ.get("CELERY_BROKER_URL", "memory://"))
app.conf.update(task_acks_late=True, worker_hijack_root_logger=True)
if os.environ.get("POOLKIT_TEST_MAX_CONNECTIONS"):
    app.conf.broker_transport_options = {
        "max_connections": int(os.environ["POOLKIT_TEST_MAX_CONNECTIONS"])
    }
celery_poolkit.install(app, advise=False)


@app.task(name="cap.until")
def until(wall_time: float) -> float:
    # Green sleep to a shared deadline: every greenlet wakes, returns and acks at once.
    time.sleep(max(0.0, wall_time - time.time()))
    return wall_time
