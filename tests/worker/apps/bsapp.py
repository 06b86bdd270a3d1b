"""A small app with poolkit installed, for the bootstep's tests on real workers.

Broker and result backend come from CELERY_BROKER_URL / CELERY_RESULT_BACKEND.
"""

from __future__ import annotations

import os
import time

from celery import Celery

import celery_poolkit

app = Celery("bsapp", broker=os.environ.get("CELERY_BROKER_URL", "memory://"))
app.conf.update(
    result_backend=os.environ.get("CELERY_RESULT_BACKEND"),
    task_routes={"bs.crunch": {"queue": "cpu"}, "bs.fetchish": {"queue": "cpu"}},
    broker_transport_options={"max_connections": 200},
    worker_hijack_root_logger=True,
)
celery_poolkit.install(app)


def _spin(seconds: float) -> float:
    # A pure-Python busy loop: holds the GIL, never yields to the gevent hub. It runs for
    # `seconds` of this thread's CPU time, not wall time: on a busy machine a wall-clock
    # loop gets less CPU, and a fixed cost around the task (the result's write) would
    # outweigh it. Returns the wall time it held the thread.
    started = time.perf_counter()
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass
    return time.perf_counter() - started


@app.task(name="bs.burn")
def burn(seconds: float) -> float:
    return _spin(seconds)


@app.task(name="bs.coop")
def coop(seconds: float = 0.001) -> float:
    time.sleep(seconds)  # green under a patched gevent worker
    return seconds


@app.task(name="bs.noop")
def noop() -> None:
    return None


@app.task(name="bs.fail")
def fail() -> None:
    raise ValueError("expected")


@app.task(name="bs.crunch")
def crunch(n: int = 200_000) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
