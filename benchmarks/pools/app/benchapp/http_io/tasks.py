"""Calls to a slow upstream HTTP API: the worker mostly waits on a socket."""

from __future__ import annotations

import os

import requests
from celery import shared_task

UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:8080/")


@shared_task(queue="http_io")
def fetch_quote(item: int) -> int:
    response = requests.get(UPSTREAM_URL, params={"item": item}, timeout=10)
    response.raise_for_status()
    return len(response.content)
