"""The bootstep on real workers (issue 6): the guard, the hub monitor, the profile.

Each test launches ``celery -A bsapp worker ...`` (tests/worker/apps/bsapp.py calls
``celery_poolkit.install(app)``) against the session's real Redis, as a user would; the
tests taking ``broker_env`` run on RabbitMQ too.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery

from harness.tasks import run_tasks
from harness.workers import WorkerProcess, script

APPS = Path(__file__).resolve().parents[1] / "apps"
QUIET = ["--without-gossip", "--without-mingle"]
BLOCK = re.compile(r"poolkit: task (\S+)\[([0-9a-f-]+)\] blocked the gevent hub for ([0-9.]+)s")

Factory = Callable[..., WorkerProcess]


@pytest.fixture
def env(redis_url: str) -> dict[str, str]:
    return {"CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url}


@pytest.fixture
def client(redis_url: str) -> Iterator[Celery]:
    app = Celery("client", broker=redis_url, backend=redis_url)
    yield app
    app.close()


@pytest.fixture
def broker_env(broker_url: str, redis_url: str) -> dict[str, str]:
    """The tests that run on Redis and RabbitMQ: the broker varies, results stay in Redis."""
    return {"CELERY_BROKER_URL": broker_url, "CELERY_RESULT_BACKEND": redis_url}


@pytest.fixture
def broker_client(broker_url: str, redis_url: str) -> Iterator[Celery]:
    app = Celery("client", broker=broker_url, backend=redis_url)
    yield app
    app.close()


def _start(factory: Factory, env: dict[str, str], *args: str) -> WorkerProcess:
    return factory(["celery", "-A", "bsapp", "worker", *args, *QUIET], cwd=APPS, env=env)


def test_strict_guard_refuses_an_unpatched_gevent_worker(env: dict[str, str]) -> None:
    # -Pgevent (no space) is not patched by Celery: the classic silent failure.
    argv = [script("celery"), "-A", "bsapp", "worker", "-Pgevent", "-c", "5",
            "--poolkit-strict", "--loglevel=INFO", *QUIET]  # fmt: skip
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}, **env}
    proc = subprocess.run(argv, cwd=APPS, env=full, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == os.EX_CONFIG, out
    assert "refusing to start" in out
    assert "poolkit worker" in out
    assert "celery_poolkit.patch()" in out
    assert "Traceback" not in out
    assert "ready." not in out


def test_strict_guard_passes_a_patched_gevent_worker(
    worker_factory: Factory, broker_env: dict[str, str], broker_client: Celery
) -> None:
    client = broker_client
    worker = _start(worker_factory, broker_env, "-P", "gevent", "-c", "5", "--poolkit-strict")
    assert run_tasks(client, "bs.noop", [()] * 3) == [None] * 3
    out = worker.output()
    assert "refusing" not in out, out
    assert "[patch-state]" not in out, out


def test_non_strict_unpatched_gevent_worker_is_warned_about_but_started(
    worker_factory: Factory, broker_env: dict[str, str]
) -> None:
    # Started: the harness waited for "ready.". (Its tasks may hang on Redis: that is
    # the failure the warning is about.)
    worker = _start(worker_factory, broker_env, "-Pgevent", "-c", "5")
    out = worker.output()
    assert "poolkit guard PK801 [patch-state]" in out
    assert "poolkit worker" in out


def test_a_cpu_burn_on_gevent_is_reported_once_by_name_with_its_duration(
    worker_factory: Factory, broker_env: dict[str, str], broker_client: Celery
) -> None:
    client = broker_client
    # Threshold 0.25, not 0.1: a full (generation 2) collection of Python's garbage
    # collector runs in whichever greenlet allocates, and is a real hub block of
    # 0.07-0.10 s of CPU in these workers (measured beside two CPU burners at a load
    # average of 14-22; see test_a_thousand_cooperative_tasks_report_no_block). At 0.1
    # one falling in the burn task's next slice is a second report of bs.burn, the
    # likely failure of the RabbitMQ run that failed 2 of 5 times (its output was not
    # kept). The burn itself is 0.5 s of CPU, twice the threshold.
    worker = _start(worker_factory, broker_env, "-P", "gevent", "-c", "10",
                    "--poolkit-block-threshold", "0.25")  # fmt: skip
    result = client.send_task("bs.burn", (0.5,))  # 0.5 s of CPU
    held = result.get(timeout=30)  # the wall time that took: more on a busy machine
    # The report is logged from a greenlet shortly after the block ends.
    out = ""
    for _ in range(50):
        out = worker.output()
        if BLOCK.search(out):
            break
        subprocess.run(["sleep", "0.1"], check=True)
    reports = BLOCK.findall(out)
    assert len(reports) == 1, out
    name, task_id, seconds = reports[0]
    assert name == "bs.burn"
    assert task_id == result.id
    # gevent's event says 0.25 (the threshold) more than once; the real block is the
    # task's whole slice: at least the 0.5 s of CPU, about the wall time it held.
    assert 0.45 <= float(seconds) < held + 1.0, (seconds, held)
    assert float(seconds) >= held * 0.9, (seconds, held)
    # Where it was stuck, from gevent's monitor thread, when that thread got the GIL in
    # time to see the block (on a loaded machine its report can come after the block).
    where = out.split("blocked the gevent hub", 1)[1]
    assert "bsapp.py" in where or "(no stack)" in where, where


def test_a_thousand_cooperative_tasks_report_no_block(
    worker_factory: Factory, env: dict[str, str], client: Celery
) -> None:
    # A cooperative task's slice is milliseconds; the threshold is 0.25 s because of
    # the garbage collector. At 0.1 s, 2 of 5 quiet runs reported one 0.12-0.16 s slice
    # of a bs.coop greenlet, "(no stack)". The cause (found with gc.callbacks timing each
    # collection in this worker): a full, generation-2 collection, which runs inside
    # whichever greenlet's allocation triggers it, every 25-35 s here, and burns
    # 0.07-0.10 s of CPU on this worker's ~13,500 collectable objects (beside two CPU
    # burners at a load average of 14-22; its wall time was 0.27-0.62 s). At a 0.05 s
    # threshold each one was reported as a bs.coop block of 0.27-0.41 s; after
    # gc.freeze() at worker start-up the collections fell to 0.012-0.021 s of CPU and
    # one 0.061 s report was left in 3,000 tasks. It is a real hub block, only not the
    # task's: 0.25 s leaves a margin of 2.5 over the largest one measured.
    worker = _start(worker_factory, env, "-P", "gevent", "-c", "50",
                    "--poolkit-block-threshold", "0.25")  # fmt: skip
    # Warm up first: the first tasks of a worker pay one-time costs in the hub's thread
    # (lazy imports in Celery and kombu, the result backend's first connections).
    assert len(run_tasks(client, "bs.coop", [(0.005,)] * 100, timeout=120)) == 100
    warm = len(worker.output())
    results = run_tasks(client, "bs.coop", [(0.005,)] * 1000, timeout=120)
    assert len(results) == 1000
    assert "blocked the gevent hub" not in worker.output()[warm:]


def test_guard_reports_the_advisors_view_of_the_consumed_queue_with_evidence(
    worker_factory: Factory, env: dict[str, str]
) -> None:
    # bs.crunch (a pure-Python loop) is routed to "cpu"; consuming it on gevent is wrong.
    worker = _start(worker_factory, env, "-P", "gevent", "-c", "5", "-Q", "cpu")
    out = worker.output()
    assert "poolkit guard PK601 [advisor]: queue 'cpu' runs on gevent" in out, out
    assert "recommends prefork" in out
    assert re.search(r"evidence: cpu: .* at .*bsapp\.py:\d+", out), out
    # A worker on the queue the advisor agrees with hears nothing from it.
    other = _start(worker_factory, env, "-P", "prefork", "-c", "2", "-Q", "cpu", "-n", "p@%h")
    assert "PK601" not in other.output()
