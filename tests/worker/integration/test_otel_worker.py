"""OpenTelemetry metrics from real gevent and prefork workers (issue 14), exported by the
OTel SDK to a file: the runs and CPU time of the tasks that ran, once each, as the
profile reports them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from harness.tasks import run_tasks
from harness.workers import WorkerProcess

APPS = Path(__file__).resolve().parents[1] / "apps"


def _last_export(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The last export that has the task instruments: metric name -> data points."""
    found: dict[str, list[dict[str, Any]]] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines[:-1] if lines and not lines[-1].endswith("}") else lines:
        points = {
            m["name"]: m["data"]["data_points"]
            for rm in json.loads(line)["resource_metrics"]
            for sm in rm["scope_metrics"]
            for m in sm["metrics"]
        }
        if "messaging.process.duration" in points:
            found = points
    return found


POOLS = {"gevent": ["-c", "10"], "prefork": ["-c", "2", "--max-tasks-per-child", "2"]}


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_a_worker_exports_each_run_once(
    worker_factory: Callable[..., WorkerProcess], env: dict[str, str], client: Celery,
    tmp_path: Path, pool: str,
) -> None:  # fmt: skip
    out = tmp_path / "metrics.jsonl"
    worker = worker_factory(
        ["celery", "-A", "otelapp", "worker", "-P", pool, *POOLS[pool], "-Q", "cpu",
         "--without-gossip", "--without-mingle"],
        cwd=APPS, env={**env, "OTEL_METRICS_FILE": str(out)},
    )  # fmt: skip
    run_tasks(client, "bs.crunch", [(200_000,)] * 5, queue="cpu", timeout=120)
    with pytest.raises(ValueError, match="expected"):
        client.send_task("bs.fail", queue="cpu").get(timeout=30)
    # The main process reads the children's pipe every 0.2 s and the SDK exports every
    # 0.5 s: wait for the last run to be exported before stopping.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        p["attributes"].get("error.type") for p in
        _last_export(out).get("messaging.process.duration", [])
    ):  # fmt: skip
        time.sleep(0.2)
    assert worker.stop() == 0  # warm shutdown: the SDK exports a last time
    points = _last_export(out)
    runs = {(p["attributes"]["celery.task_name"], p["attributes"].get("error.type")): p
            for p in points["messaging.process.duration"]}  # fmt: skip
    assert runs[("bs.crunch", None)]["count"] == 5
    assert runs[("bs.fail", "_OTHER")]["count"] == 1
    cpu = {p["attributes"]["celery.task_name"]: p for p in points["poolkit.task.cpu_time"]}
    assert cpu["bs.crunch"]["count"] == 5
    assert cpu["bs.crunch"]["sum"] > 0
    (concurrency,) = points["poolkit.worker.concurrency"]  # one process reports it
    assert concurrency["attributes"]["poolkit.pool"] == pool
