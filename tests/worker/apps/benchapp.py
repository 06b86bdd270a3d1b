"""The overhead benchmark's app: no-op tasks, with poolkit installed only when
``POOLKIT_BENCH_INSTALL=1`` (benchmarks/bootstep_overhead.py runs both side by side)."""

from __future__ import annotations

import os
import time

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


_leaked: list[bytearray] = []


@app.task(name="bench.alloc")
def alloc(mib: int = 50, seconds: float = 0.0, leak: bool = False) -> None:
    """Touches ``mib`` MiB (resident), waits ``seconds`` (IO), and keeps the memory when
    ``leak``: the issue's leaking task under ``--max-memory-per-child``."""
    block = bytearray(os.urandom(1024)) * (mib * 1024)
    if seconds:
        time.sleep(seconds)
    if leak:
        _leaked.append(block)
