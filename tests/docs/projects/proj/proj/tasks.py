"""Two tasks: an HTTP call (green under gevent) and a probe of the worker's patching."""

from __future__ import annotations

import socket

import requests

from proj.celery import app


@app.task
def fetch(url: str) -> int:
    return requests.get(url, timeout=10).status_code


@app.task
def socket_is_green() -> bool:
    return socket.socket.__module__.startswith("gevent")
