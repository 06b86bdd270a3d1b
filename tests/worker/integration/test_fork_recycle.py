"""``--poolkit-recycle=fork`` on real workers and Redis (issue 13): a keeper process holds
the pid and forks each replacement worker.

One worker per pool (threads, gevent), ``--max-tasks-per-child=3``: every task sent runs
once, the pidfile keeps the keeper's pid across replacements, a revoke reaches the
replacements through the handover, and SIGTERM to the keeper leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.exceptions import TaskRevokedError

from harness.procs import children
from harness.workers import WorkerProcess

APPS = Path(__file__).resolve().parents[1] / "apps"
QUIET = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
POOLS = {"threads": ["-P", "threads", "-c", "4"], "gevent": ["-P", "gevent", "-c", "10"]}
READY = " ready."
MAX_TASKS = 300  # batches of max-tasks-per-child until two replacements serve

Factory = Callable[..., WorkerProcess]


def _gone(pid: int) -> bool:
    """True when ``pid`` has ended (a zombie counts as ended: it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_fork_recycle_keeps_the_pid_and_every_task(
    pool: str, worker_factory: Factory, env: dict[str, str], client: Celery, tmp_path: Path
) -> None:
    runs = redis.Redis.from_url(env["CELERY_RESULT_BACKEND"])
    runs.delete("limits:runs")
    pidfile = tmp_path / "worker.pid"
    fork = ["--max-tasks-per-child=3", "--poolkit-recycle=fork", f"--pidfile={pidfile}"]
    argv = ["celery", "-A", "limitsapp", "worker", *POOLS[pool], *QUIET, *fork]
    worker = worker_factory(argv, cwd=APPS, env=env)
    keeper = worker.pid
    assert int(pidfile.read_text()) == keeper
    first = children(keeper, zombies=True)
    assert len(first) == 1, worker.tail()
    revoked_id = f"revoked-{uuid.uuid4()}"
    assert client.control.revoke(revoked_id, reply=True, timeout=10), worker.tail()

    # Sent in batches of max-tasks-per-child until two replacements are ready (a
    # recycling child serves on until its successor consumes, so a child may run more
    # than 3); at most MAX_TASKS.
    seen: set[int] = set(first)
    results: list[str] = []
    while worker.output().count(READY) < 3 and len(results) < MAX_TASKS:
        batch = range(len(results), len(results) + 3)
        sent = [client.send_task("limits.work", (f"t{i}", 0.01)) for i in batch]
        results += [r.get(timeout=60) for r in sent]
        seen |= children(keeper, zombies=True)
    tasks = len(results)
    assert sorted(results) == sorted(f"t{i}" for i in range(tasks))
    log = worker.wait_for(READY, count=3, timeout=90)
    assert "its keeper forks a replacement" in log
    assert "guard and mingle skipped, 1 revoked id(s) taken over" in log, worker.tail()
    assert log.count("[queues]") == 1, worker.tail()  # the banner: the first start's only
    with pytest.raises(TaskRevokedError):
        client.send_task("limits.work", ("revoked", 0.01), task_id=revoked_id).get(timeout=30)
    serving = client.send_task("limits.pid").get(timeout=30)
    seen |= children(keeper, zombies=True) | {serving}
    assert serving != keeper
    assert serving in children(keeper, zombies=True)
    assert int(pidfile.read_text()) == keeper  # the pid users know stayed the same
    counts = {k.decode(): int(v) for k, v in runs.hgetall("limits:runs").items()}
    assert counts == {f"t{i}": 1 for i in range(tasks)}, (counts, worker.tail())
    assert len(seen) >= 3  # the first child and at least two replacements

    os.kill(keeper, signal.SIGTERM)
    assert worker.proc.wait(timeout=60) == 0, worker.tail()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_gone(pid) for pid in seen):
        time.sleep(0.05)
    assert all(_gone(pid) for pid in seen), [p for p in seen if not _gone(p)]
    assert not pidfile.exists()
    assert "keeper exits with status 0" in worker.output()
    runs.close()
