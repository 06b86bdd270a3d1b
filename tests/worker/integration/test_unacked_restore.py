"""``kill -9`` of a gevent worker with late acks on Redis: no message is lost for good.

The worker dies holding messages (running or prefetched); kombu keeps them in Redis's
``unacked`` hash. A gevent worker's loop never restores them (kombu#1025), so without
poolkit's start-up sweep they stay there however many workers start; with it, the next
gevent worker to start puts back those older than ``visibility_timeout``, and every task
runs. Counts, not timings: N sent, N run at least once, but one.

That one is kombu's Redis transport, whatever the pool: BRPOP removes a message from its
queue when Redis answers, and the worker records it in ``unacked`` only once it has read
the reply; a worker killed in between takes that message with it. A consumer has one
BRPOP at a time, so a kill loses at most one message this way.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from harness.tasks import unacked_task_ids
from harness.workers import WorkerProcess

# lossapp is a project of its own: its default queue ("loss") must not be the other apps'.
APPS = Path(__file__).resolve().parent / "apps"
TOTAL = 600
SECONDS = 0.2  # per task: the worker is busy (about 20 held) when it is killed
VISIBILITY = 4.0  # seconds; every task is far shorter, so no live task is restored
Factory = Callable[..., WorkerProcess]


@pytest.fixture
def counts(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[Celery]:
    app = Celery("client", broker=redis_url)
    yield app
    app.close()


def _env(redis_url: str, visibility: float) -> dict[str, str]:
    return {"CELERY_BROKER_URL": redis_url, "LOSS_COUNTS_URL": redis_url,
            "LOSS_VISIBILITY_TIMEOUT": str(visibility)}  # fmt: skip


def _worker(factory: Factory, env: dict[str, str], name: str, *extra: str) -> WorkerProcess:
    return factory(
        ["celery", "-A", "lossapp", "worker", "-P", "gevent", "-c", "20", "-Q", "loss",
         "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
         *extra],
        cwd=APPS, env=env,
    )  # fmt: skip


def _runs(counts: redis.Redis) -> dict[int, int]:
    return {int(k): int(v) for k, v in counts.hgetall("loss:runs").items()}


def _wait_quiet(counts: redis.Redis, *, until: int, timeout: float, quiet: float = 4.0) -> None:
    """Until ``until`` tasks ran, or the count stopped moving for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = counts.hlen("loss:runs")
        if now >= until:
            return
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > quiet and counts.llen("loss") == 0:
            return
        time.sleep(0.1)


@pytest.mark.parametrize("restore", [True, False], ids=["with-sweep", "without-sweep"])
def test_kill_9_of_a_gevent_worker_loses_no_task(
    restore: bool, worker_factory: Factory, client: Celery, counts: redis.Redis,
    redis_url: str,
) -> None:  # fmt: skip
    env = _env(redis_url, VISIBILITY)
    first = _worker(worker_factory, env, "first")
    for n in range(TOTAL):
        client.send_task("lossapp.step", (n, SECONDS), queue="loss", task_id=f"loss-{n}")
    deadline = time.monotonic() + 60
    while counts.hlen("loss:runs") < TOTAL // 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)  # the worker we started, by pid
    first.proc.wait(timeout=10)
    killed_at = time.monotonic()
    stuck = counts.hlen("unacked")
    assert 0 < counts.hlen("loss:runs") < TOTAL, "the kill must land mid-run"
    assert stuck > 0, "a worker killed mid-run holds unacknowledged messages"
    # kombu's rule: only entries older than visibility_timeout are abandoned.
    time.sleep(max(0.0, VISIBILITY + 0.5 - (time.monotonic() - killed_at)))
    flag = "--poolkit-restore-unacked" if restore else "--no-poolkit-restore-unacked"
    second = _worker(worker_factory, env, "second", flag)
    _wait_quiet(counts, until=TOTAL, timeout=90)
    runs = _runs(counts)
    missing = TOTAL - len(runs)
    twice = sum(runs.values()) - len(runs)
    print(f"restore={restore}: {TOTAL} sent, {stuck} unacked at the kill, "
          f"{len(runs)} ran, {missing} missing, {twice} ran twice")  # fmt: skip
    if restore:
        assert missing <= 1, (stuck, second.tail())  # the BRPOP in flight (docstring)
        assert f"poolkit: restored {stuck} message(s)" in second.output(), second.tail()
        assert counts.hlen("unacked") == 0
    else:
        # The bug the sweep fixes: a gevent worker leaves them there for good. Every
        # missing task but the BRPOP one is among them (the others there had finished
        # and died before their ack).
        assert counts.hlen("unacked") == stuck
        held = {f"loss-{n}" for n in range(TOTAL) if n not in runs} & unacked_task_ids(counts)
        assert len(held) >= 1
        assert missing - len(held) <= 1
    assert counts.llen("loss") == 0


def test_the_sweep_leaves_what_a_live_worker_holds(
    worker_factory: Factory, client: Celery, counts: redis.Redis, redis_url: str
) -> None:
    env = _env(redis_url, 120.0)
    holder = _worker(worker_factory, env, "holder")
    for n in range(5):
        client.send_task("lossapp.step", (n, 15.0), queue="loss")
    deadline = time.monotonic() + 30
    while counts.hlen("unacked") < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counts.hlen("unacked") == 5
    late = _worker(worker_factory, env, "late", "--loglevel=INFO")
    assert counts.hlen("unacked") == 5  # nothing taken from the live holder
    assert counts.llen("loss") == 0
    assert "no abandoned Redis messages to restore (5 younger" in late.output(), late.tail()
    os.kill(holder.pid, signal.SIGKILL)  # rather than wait 15 s for a warm shutdown
