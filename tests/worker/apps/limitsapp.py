"""An app for poolkit's time limits and recycling on real workers (issue 13).

Broker and result backend: CELERY_BROKER_URL / CELERY_RESULT_BACKEND. ``LIMITS_ACKS_LATE=1``
turns on late acks. Every task that runs adds one to its key in the Redis hash
``limits:runs`` (at CELERY_RESULT_BACKEND), so a test counts what ran and how often.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time

import redis
from celery import Celery, signals
from celery.exceptions import SoftTimeLimitExceeded

import celery_poolkit

app = Celery("limitsapp", broker=os.environ.get("CELERY_BROKER_URL", "memory://"))
app.conf.update(
    result_backend=os.environ.get("CELERY_RESULT_BACKEND"),
    task_acks_late=os.environ.get("LIMITS_ACKS_LATE") == "1",
    worker_prefetch_multiplier=1,
    broker_transport_options={"max_connections": 50},
    worker_hijack_root_logger=True,
)
celery_poolkit.install(app)

_runs = redis.Redis.from_url(os.environ.get("CELERY_RESULT_BACKEND") or "redis://127.0.0.1:1")
_leaked: list[bytearray] = []


def _ran(key: str) -> None:
    _runs.hincrby("limits:runs", key, 1)


#: task id -> perf_counter() at its task_prerun: where the soft limit counts from. The
#: task's first line can come much later on a loaded host (0.14 s measured at load 6).
_started: dict[str, float] = {}


@signals.task_prerun.connect
def _stamp(task_id: str = "", **_: object) -> None:
    _started[task_id] = time.perf_counter()


@app.task(name="limits.spin", bind=True, soft_time_limit=0.5)
def spin(self, key: str, limit: float = 0.5, chunk: float = 0.0) -> dict[str, float]:
    """Loops (in Python, or in ``chunk``-second sleeps) until the soft limit; returns how
    late SoftTimeLimitExceeded came, from the task's start (its task_prerun, as the
    limit counts), and that cleanup ran."""
    start = _started.pop(self.request.id, None) or time.perf_counter()
    _ran(key)
    try:
        while time.perf_counter() - start < limit + 30:
            if chunk:
                time.sleep(chunk)
    except SoftTimeLimitExceeded:
        caught = time.perf_counter()
        return {"delay": caught - (start + limit), "cleanup": 1.0}
    return {"delay": float("inf"), "cleanup": 0.0}


@app.task(name="limits.read", soft_time_limit=0.5)
def read(key: str, port: int, limit: float = 0.5, timeout: float | None = None) -> dict[str, float]:
    """Reads from a loopback server that never answers (``recv`` with socket timeout
    ``timeout``, looping on timeouts; None: a blocking ``recv``, which returns when the
    server closes) until the soft limit; returns how late SoftTimeLimitExceeded came."""
    start = time.perf_counter()  # before the Redis call: on gevent it may switch away
    _ran(key)
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.settimeout(timeout)
        while time.perf_counter() - start < limit + 30:
            with contextlib.suppress(TimeoutError):  # the socket timeout: read again
                sock.recv(1)
    except SoftTimeLimitExceeded:
        caught = time.perf_counter()
        return {"delay": caught - (start + limit), "cleanup": 1.0}
    finally:
        sock.close()
    return {"delay": float("inf"), "cleanup": 0.0}


@app.task(name="limits.stuck")
def stuck(key: str, seconds: float = 3600) -> None:
    _ran(key)
    time.sleep(seconds)  # threads: one C call an asynchronous exception cannot interrupt


@app.task(name="limits.work")
def work(key: str, seconds: float = 0.3) -> str:
    time.sleep(seconds)
    _ran(key)
    return key


@app.task(name="limits.leak")
def leak(key: str, mib: int = 50) -> int:
    _leaked.append(bytearray(os.urandom(1024)) * (mib * 1024))  # touched: resident
    _ran(key)
    return len(_leaked)


@app.task(name="limits.pid")
def pid() -> int:
    return os.getpid()


@app.task(name="limits.hog")
def hog(key: str, seconds: float = 20.0) -> float:
    """A pure-Python loop that never yields to the gevent hub (Celery's cooperative hard
    limit cannot fire), for ``seconds`` of its own clock."""
    start = time.perf_counter()  # before the Redis call: on gevent it may switch away
    _ran(key)
    while time.perf_counter() - start < seconds:
        pass
    return seconds
