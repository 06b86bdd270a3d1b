"""PK307 on a real gevent worker and a real Redis: late acks past kombu's pool cap.

kombu's Redis transport caps the consumer channel's redis-py pool at 10 connections; on
Celery 5.7+ a gevent worker acks late from each task's greenlet through that pool, so 50
greenlets finishing together overflow it (``Couldn't ack … MaxConnectionsError``). The
guard names it at start-up, and ``--poolkit-strict`` refuses to start.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery
from celery.worker.consumer.consumer import Consumer

from harness.workers import WorkerProcess, script

APPS = Path(__file__).resolve().parents[1] / "apps"
QUIET = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
TASKS = 50  # one per greenlet, all finishing at the same moment
GUARD = "poolkit guard PK307 [redis-broker]"

pytestmark = pytest.mark.skipif(
    not hasattr(Consumer, "call_soon_ack"), reason="Celery < 5.7 acks in the consumer"
)


def _run(factory: Callable[..., WorkerProcess], env: dict[str, str], redis_url: str) -> str:
    worker = factory(["celery", "-A", "capapp", "worker", "-P", "gevent", "-c", "50", *QUIET],
                     cwd=APPS, env=env)  # fmt: skip
    client = Celery("client", broker=redis_url)
    wake = time.time() + 2.0  # every task is running (sleeping) by then
    try:
        for _ in range(TASKS):
            client.send_task("cap.until", (wake,))
    finally:
        client.close()
    deadline = time.monotonic() + 15
    while worker.output().count(" succeeded in ") < TASKS and time.monotonic() < deadline:
        time.sleep(0.2)
    # >=: a message whose ack failed can be delivered, and run, again.
    assert worker.output().count(" succeeded in ") >= TASKS, worker.tail()
    time.sleep(0.5)  # the last acks
    return worker.output()


def test_default_cap_loses_acks_and_the_guard_says_so_at_start(
    worker_factory: Callable[..., WorkerProcess], redis_url: str
) -> None:
    out = _run(worker_factory, {"CELERY_BROKER_URL": redis_url}, redis_url)
    head = out.split(" ready.")[0]
    assert GUARD in head  # reported before the worker consumed anything
    assert "'max_connections': 51" in head
    assert "Couldn't ack" in out
    assert "MaxConnectionsError" in out


def test_the_sized_pool_keeps_every_ack_and_the_guard_is_quiet(
    worker_factory: Callable[..., WorkerProcess], redis_url: str
) -> None:
    env = {"CELERY_BROKER_URL": redis_url, "POOLKIT_TEST_MAX_CONNECTIONS": "51"}
    out = _run(worker_factory, env, redis_url)
    assert GUARD not in out
    assert "MaxConnectionsError" not in out


def test_strict_mode_refuses_to_start(redis_url: str) -> None:
    argv = [script("celery"), "-A", "capapp", "worker", "-P", "gevent", "-c", "50",
            "--poolkit-strict", "--loglevel=INFO", *QUIET]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    proc = subprocess.run(argv, cwd=APPS, env={**env, "CELERY_BROKER_URL": redis_url},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == os.EX_CONFIG, out
    assert "refusing to start" in out
    assert "max_connections" in out
    assert "ready." not in out
