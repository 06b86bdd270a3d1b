"""``--poolkit-recycle=fork`` with overlap, on real workers and Redis (issue 13): the keeper
forks the successor when a child announces its recycle, so the successor serves while
its predecessor drains.

The predecessor is kept draining by one long task (``limits.stuck`` sleeping
``LONG`` seconds, no time limit), started before the short tasks that reach
``--max-tasks-per-child``: the successor must answer while that task still runs.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult

from harness.procs import alive, children
from harness.tasks import hash_counts
from harness.workers import WorkerProcess

APPS = Path(__file__).resolve().parents[1] / "apps"
QUIET = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
THREADS = ["-P", "threads", "-c", "4"]
LONG = 10.0  # seconds the predecessor drains: longer than a successor's start-up under load
SHORT = 3  # --max-tasks-per-child

Factory = Callable[..., WorkerProcess]


def _counts(runs: redis.Redis) -> dict[str, int]:
    return hash_counts(runs, "limits:runs")


def _get(result: AsyncResult, worker: WorkerProcess, timeout: float = 60) -> object:
    try:
        return result.get(timeout=timeout)
    except CeleryTimeoutError:
        pytest.fail(f"no result in {timeout}s; worker log:\n{worker.tail(80)}")


def _start(factory: Factory, env: dict[str, str], acks_late: str, *args: str) -> WorkerProcess:
    argv = ["celery", "-A", "limitsapp", "worker", *THREADS, *QUIET,
            "--poolkit-recycle=fork", *args]  # fmt: skip
    return factory(argv, cwd=APPS, env={**env, "LIMITS_ACKS_LATE": acks_late})


def _overlap(
    worker: WorkerProcess, client: Celery
) -> tuple[int, int, AsyncResult, list[AsyncResult]]:
    """Start a recycle that drains for ``LONG`` seconds; return the draining child, the
    successor that answered meanwhile, the long task and the short ones."""
    first = _get(client.send_task("limits.pid"), worker)  # counts as a task: 1
    assert isinstance(first, int)
    long = client.send_task("limits.stuck", ("long", LONG))
    short = [client.send_task("limits.work", (f"s{i}", 0.05)) for i in range(SHORT - 1)]
    for result in short:
        _get(result, worker)  # the last one reaches max-tasks-per-child: recycle
    deadline = time.monotonic() + LONG
    successor = first
    while successor == first and time.monotonic() < deadline:
        answered = _get(client.send_task("limits.pid"), worker, LONG)
        assert isinstance(answered, int)
        successor = answered
    assert successor != first, worker.tail()
    # The successor served while the predecessor still drained its long task.
    assert not long.ready(), worker.tail()
    assert alive(first), worker.tail()
    assert {first, successor} <= children(worker.pid)
    return first, successor, long, short


@pytest.mark.parametrize("acks_late", ["0", "1"])
def test_the_successor_serves_while_its_predecessor_drains(
    acks_late: str, worker_factory: Factory, env: dict[str, str], client: Celery,
    runs: redis.Redis,
) -> None:  # fmt: skip
    worker = _start(worker_factory, env, acks_late, f"--max-tasks-per-child={SHORT}")
    first, successor, long, _ = _overlap(worker, client)
    # By the successor (its second task: below its own max-tasks-per-child).
    assert _get(client.send_task("limits.work", ("m0", 0.05)), worker) == "m0"
    assert _get(long, worker) is None  # the predecessor finished it, then exited
    deadline = time.monotonic() + 30
    while alive(first) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(first)
    assert children(worker.pid) == {successor}  # the recycle exit forked nothing more
    log = worker.output()
    assert log.count("poolkit: the worker recycles; forked replacement") == 1, worker.tail()
    assert "guard and mingle skipped" in log
    # N sent, N accounted for: each ran once, the long one was not handed to the successor.
    counts = _counts(runs)
    assert counts == {"long": 1, "s0": 1, "s1": 1, "m0": 1}, (counts, worker.tail())


def test_term_during_the_overlap_stops_bothchildren(
    worker_factory: Factory, env: dict[str, str], client: Celery, tmp_path: Path
) -> None:
    pidfile = tmp_path / "worker.pid"
    worker = _start(
        worker_factory, env, "0", f"--max-tasks-per-child={SHORT}", f"--pidfile={pidfile}"
    )
    first, successor, long, _ = _overlap(worker, client)
    assert int(pidfile.read_text()) == worker.pid
    os.kill(worker.pid, signal.SIGTERM)
    assert worker.proc.wait(timeout=LONG + 60) == 0, worker.tail()
    assert not alive(first)
    assert not alive(successor)
    assert not pidfile.exists()
    assert "asked to stop while recycling; not replacing this worker" in worker.output()
    assert "keeper exits with status 0 after 2 worker process(es)" in worker.output()
    assert _get(long, worker) is None  # the warm shutdown let it finish


STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}).*forked replacement", re.M)


def test_successors_are_a_backoff_apart(
    worker_factory: Factory, env: dict[str, str], client: Celery, runs: redis.Redis
) -> None:
    # A worker that recycles after every task: the keeper forks at most one per second.
    worker = _start(worker_factory, env, "0", "--max-tasks-per-child=1")
    keys: list[str] = []
    deadline = time.monotonic() + 90
    # One at a time (a recycling child serves on until its successor consumes): at most
    # 2,000 tasks and 90 s, until 4 replacements were forked.
    while worker.output().count("forked replacement") < 4 and len(keys) < 2000:
        assert time.monotonic() < deadline, worker.tail()
        keys.append(f"b{len(keys)}")
        assert _get(client.send_task("limits.work", (keys[-1], 0.01)), worker) == keys[-1]
    log = worker.output()
    stamps = [datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in STAMP.findall(log)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    assert len(stamps) >= 4, worker.tail()
    assert min(gaps) >= 0.9, gaps  # forked 1 s apart, logged just after
    assert _counts(runs) == dict.fromkeys(keys, 1)
