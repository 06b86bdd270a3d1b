"""The worker commands ``poolkit advise`` prints start real workers that run the tasks.

The advice for the example project is produced by the real CLI (a subprocess, reading
code only), and its ``queues[].command`` is launched as users would launch it, against a
real Redis broker; the tasks then run on the advised pool.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery

from harness.tasks import run_task, run_tasks
from harness.workers import WorkerProcess, script

pytestmark = pytest.mark.integration
EXAMPLE_ROOT = Path(__file__).resolve().parents[3] / "examples" / "shop"


@pytest.fixture
def client(redis_url: str) -> Iterator[Celery]:
    app = Celery("client", broker=redis_url, backend=redis_url)
    yield app
    app.close()


@pytest.fixture(scope="module")
def advice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    cache = tmp_path_factory.mktemp("poolkit-cache")
    proc = subprocess.run(
        [script("poolkit"), "advise", str(EXAMPLE_ROOT), "--format", "json", "--cores", "2"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "POOLKIT_CACHE_DIR": str(cache)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return {q["name"]: q for q in json.loads(proc.stdout)["queues"]}


def _argv(command: object) -> list[str]:
    assert isinstance(command, str)
    return [*shlex.split(command), "--without-gossip", "--without-mingle"]


@pytest.fixture
def advised_worker(
    advice: dict[str, dict[str, object]],
    worker_factory: Callable[..., WorkerProcess],
    redis_url: str,
    tmp_path: Path,
) -> Callable[[str], WorkerProcess]:
    """Start a real worker with the command the advice printed for a queue."""

    def start(queue: str) -> WorkerProcess:
        return worker_factory(
            _argv(advice[queue]["command"]),
            env={"SHOP_DATA_DIR": str(tmp_path / "data"), "CELERY_BROKER_URL": redis_url},
        )

    return start


def test_advised_io_queue_runs_on_a_patched_gevent_worker(
    advice: dict[str, dict[str, object]],
    advised_worker: Callable[[str], WorkerProcess],
    client: Celery,
) -> None:
    assert advice["default"]["pool"] == "gevent"
    worker = advised_worker("default")
    results = run_tasks(client, "shop.tasks.maintenance.pause", [(0.3,)] * 20, queue="default")
    assert {r["pid"] for r in results} == {worker.pid}
    assert all(r["socket_patched"] for r in results)  # the advised -P gevent patched early


def test_advised_cpu_queue_runs_on_prefork(
    advice: dict[str, dict[str, object]],
    advised_worker: Callable[[str], WorkerProcess],
    client: Celery,
    tmp_path: Path,
) -> None:
    images = advice["images"]
    assert (images["pool"], images["concurrency"]) == ("prefork", 2)
    worker = advised_worker("images")
    source = tmp_path / "photo.bin"
    source.write_bytes(b"pixels" * 100)
    digest = run_task(client, "shop.tasks.images.fingerprint", str(source), 50, queue="images")
    assert len(digest) == 64
    assert "-P prefork -c 2" in " ".join(worker.argv)
