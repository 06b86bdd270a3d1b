"""Tasks that report what the worker process looks like (shared by every app variant)."""

from __future__ import annotations

import os
import socket
import sys
import time

from celery import shared_task


@shared_task(name="poolprobe.pause")
def pause(seconds: float = 0.2) -> dict[str, object]:
    """Sleep like a slow upstream; ``socket_patched`` says whether gevent patched socket."""
    started = time.monotonic()
    time.sleep(seconds)
    return {
        "slept": time.monotonic() - started,
        "pid": os.getpid(),
        "socket_patched": socket.socket.__module__.startswith("gevent"),
        "socket_module": socket.socket.__module__,
    }


@shared_task(name="poolprobe.probe")
def probe() -> dict[str, object]:
    """poolkit's view of this worker: the patch report and the adapters that ran."""
    from celery_poolkit.bootstrap import _state, last_result

    report = last_result()
    callback = None
    if "psycopg2.extensions" in sys.modules:
        found = sys.modules["psycopg2.extensions"].get_wait_callback()
        callback = f"{found.__module__}.{found.__qualname__}" if found else None
    return {
        "socket_patched": socket.socket.__module__.startswith("gevent"),
        "report": None
        if report is None
        else {
            "pool": report.pool.value if report.pool else None,
            "source": report.source,
            "patched_now": report.patched_now,
            "hazards": [h.kind for h in report.hazards],
        },
        "adapters": {name: r.status.value for name, r in _state.adapters.items()},
        "psycopg2_wait_callback": callback,
    }
