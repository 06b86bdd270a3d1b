"""Housekeeping tasks on the default queue."""

from __future__ import annotations

import os
import socket
import time

from shop.celery import app


@app.task
def ping() -> str:
    return "pong"


@app.task
def pause(seconds: float = 0.2) -> dict[str, object]:
    """Wait like a slow upstream would; reports what the worker process looks like.

    ``socket_patched`` tells whether the worker's ``socket`` module is gevent's, which is
    how tests prove a gevent worker was monkey patched before work began.
    """
    started = time.monotonic()
    time.sleep(seconds)
    return {
        "slept": time.monotonic() - started,
        "pid": os.getpid(),
        "socket_patched": socket.socket.__module__.startswith("gevent"),
    }
