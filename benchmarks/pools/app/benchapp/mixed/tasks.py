"""One queue that gets every kind of work, as a catch-all "default" queue often does.

The driver sends the five tasks in turn, so a fifth of the queue is each kind: upstream
HTTP calls, PostgreSQL queries, sleeps, pure-Python CPU and GIL-releasing CPU.
"""

from __future__ import annotations

import hashlib
import os
import queue
import time
from typing import Any

import psycopg2
import requests
from celery import shared_task

UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:8080/")
DATABASE_DSN = os.environ.get("DATABASE_DSN", "host=127.0.0.1 dbname=postgres user=postgres")

# Idle connections, reused by later tasks (at most one open per task running at once).
_spare: queue.SimpleQueue[Any] = queue.SimpleQueue()


@shared_task(queue="mixed")
def refresh_rates(item: int) -> int:
    reply = requests.get(UPSTREAM_URL, params={"item": item}, timeout=10)
    reply.raise_for_status()
    return len(reply.content)


@shared_task(queue="mixed")
def count_orders(seconds: float) -> int:
    try:
        conn = _spare.get_nowait()
    except queue.Empty:
        conn = psycopg2.connect(DATABASE_DSN, application_name="benchapp")
        conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_sleep(%s), 1", (seconds,))
        (_, one) = cur.fetchone()
    _spare.put(conn)
    return int(one)


@shared_task(queue="mixed")
def wait_for_settlement(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@shared_task(queue="mixed")
def score_basket(rounds: int) -> int:
    score = 7
    for step in range(rounds):
        score = (score * 31 + step) % 1_000_003
    return score


@shared_task(queue="mixed")
def sign_receipt(iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", b"receipt", b"shop-salt", iterations).hex()
