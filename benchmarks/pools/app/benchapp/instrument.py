"""Task-side measuring hooks: a readiness marker and one timestamp record per task.

Both go to Redis lists the driver reads (``BENCH_REDIS_URL``):

* ``bench:ready`` gets one JSON object when the worker is ready: the pool class, whether
  the process was monkey patched, and which psycopg2 wait callback is active (the gevent
  db_io control must show ``None``; a green setup shows the callback's name).
* ``bench:done`` gets ``"<t_start> <t_end> <pid> <state>"`` per task, from the worker's own
  ``task_prerun``/``task_postrun`` signals, so wall time is measured where the work ran,
  not where results arrive.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from celery import signals

READY_KEY = "bench:ready"
DONE_KEY = "bench:done"

_started: dict[str, float] = {}
# One client per process: prefork children must not share the parent's sockets.
_client: dict[int, Any] = {}


def _redis() -> Any:
    pid = os.getpid()
    if pid not in _client:
        import redis

        _client.clear()
        _client[pid] = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    return _client[pid]


def _qualname(obj: object) -> str | None:
    if obj is None:
        return None
    module = getattr(obj, "__module__", "?")
    return f"{module}.{getattr(obj, '__qualname__', repr(obj))}"


def _facts(consumer: Any) -> dict[str, Any]:
    import socket

    import psycopg2.extensions

    gevent_patched = None
    if "gevent.monkey" in sys.modules:
        gevent_patched = bool(sys.modules["gevent.monkey"].is_module_patched("socket"))
    pool = getattr(consumer, "pool", None)
    return {
        "pid": os.getpid(),
        "argv": sys.argv,
        "pool_class": _qualname(type(pool)) if pool is not None else None,
        "concurrency": getattr(pool, "limit", None),
        "socket_module": socket.socket.__module__,
        "gevent_patched_socket": gevent_patched,
        "eventlet_loaded": "eventlet" in sys.modules,
        "psycopg2_wait_callback": _qualname(psycopg2.extensions.get_wait_callback()),
        "poolkit_loaded": sorted(m for m in sys.modules if m.startswith("celery_poolkit")),
    }


@signals.after_setup_logger.connect
def _quiet_task_logs(**_: Any) -> None:
    # The harness reads readiness from the INFO line "<name> ready."; the per-task INFO
    # lines ("received", "succeeded") would add logging work to every task measured.
    for name in ("celery.worker.strategy", "celery.app.trace", "celery.worker.request"):
        logging.getLogger(name).setLevel(logging.WARNING)


@signals.worker_ready.connect
def _announce(sender: Any = None, **_: Any) -> None:
    _redis().rpush(READY_KEY, json.dumps(_facts(sender)))


@signals.task_prerun.connect
def _start(task_id: str = "", **_: Any) -> None:
    _started[task_id] = time.time()


@signals.task_postrun.connect
def _finish(task_id: str = "", state: str | None = None, **_: Any) -> None:
    end = time.time()
    start = _started.pop(task_id, end)
    _redis().rpush(DONE_KEY, f"{start:.6f} {end:.6f} {os.getpid()} {state or '?'}")
