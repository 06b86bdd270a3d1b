"""The overhead benchmark's app: no-op tasks, with poolkit installed only when
``POOLKIT_BENCH_INSTALL=1`` (benchmarks/bootstep_overhead.py runs both side by side)."""

from __future__ import annotations

import os

from celery import Celery

app = Celery("benchapp", broker=os.environ.get("CELERY_BROKER_URL", "memory://"))
app.conf.update(
    result_backend=os.environ.get("CELERY_RESULT_BACKEND"),
    # -c 100 greenlets acking at once exceed kombu's default 10 Redis connections.
    broker_transport_options={"max_connections": 200},
    redis_max_connections=200,
    worker_prefetch_multiplier=4,
)
if os.environ.get("POOLKIT_BENCH_INSTALL") == "1":
    import celery_poolkit

    # Monitor and profile on (the defaults); the guard's advisor pass only costs start-up.
    celery_poolkit.install(app)


@app.task(name="bench.noop")
def noop() -> None:
    return None
