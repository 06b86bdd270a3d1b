"""The worker's metrics scraped by a real Prometheus (issue 14): a gevent worker and a
prefork worker (children replaced every two tasks) on real Redis; Prometheus's HTTP API
has the CPU-time and hub-block series of the tasks that ran, with the profile's values.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.exceptions import TimeLimitExceeded

from harness.dashboard import concrete, dashboard, queries
from harness.procs import free_port
from harness.prometheus import prometheus_server
from harness.tasks import run_tasks
from harness.workers import WorkerProcess, script

APPS = Path(__file__).resolve().parents[1] / "apps"
QUIET = ["--without-gossip", "--without-mingle"]


def _profile(env: dict[str, str], out: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """``poolkit profile collect``: worker name -> task name -> the task's profile."""
    proc = subprocess.run(
        [script("poolkit"), "profile", "collect", "-A", "bsapp", "--timeout", "5", "-o", str(out)],
        cwd=APPS, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    return {w["hostname"].split("@")[0]: {t["name"]: t for t in w["tasks"]}
            for w in data["workers"]}  # fmt: skip


def test_prometheus_scrapes_per_task_cpu_and_hub_blocks_from_gevent_and_prefork(
    worker_factory: Callable[..., WorkerProcess],
    env: dict[str, str],
    client: Celery,
    tmp_path: Path,
) -> None:
    ports = {"green": free_port(), "cpu": free_port()}
    common = ["celery", "-A", "bsapp", "worker", *QUIET, "--poolkit-metrics-address", "127.0.0.1"]
    worker_factory([*common, "-P", "gevent", "-c", "10", "-Q", "celery", "-n", "green@%h",
                    "--poolkit-metrics-port", str(ports["green"])], cwd=APPS, env=env)  # fmt: skip
    # Children replaced every two tasks: their runs must still be counted once each.
    worker_factory([*common, "-P", "prefork", "-c", "2", "-Q", "cpu", "-n", "cpu@%h",
                    "--max-tasks-per-child", "2", "--poolkit-metrics-port", str(ports["cpu"])],
                   cwd=APPS, env=env)  # fmt: skip
    # A block is a slice that burned the threshold (0.1 s) in CPU: bs.crunch counts
    # iterations, so its CPU does not grow with the machine's load. 8M iterations burn
    # 0.33 s on a fast core (Python 3.13); 2M burned 0.08 s there, under the threshold.
    for _ in range(3):
        run_tasks(client, "bs.crunch", [(8_000_000,)], queue="celery")
    run_tasks(client, "bs.coop", [(0.05,)] * 10, queue="celery")
    run_tasks(client, "bs.crunch", [(300_000,)] * 7, queue="cpu")
    with pytest.raises(ValueError, match="expected"):
        client.send_task("bs.fail", queue="celery").get(timeout=30)
    time.sleep(1)  # the hub monitor's drain greenlet counts the last block (every 0.2 s)

    profile = _profile(env, tmp_path / "profile.json")
    green, cpu = profile["green"], profile["cpu"]
    assert green["bs.crunch"]["blocks"] >= 3, green["bs.crunch"]
    # Wall time less the waits for a CPU is never below the CPU burned (at load 25 it
    # measured 0 s, and the CPU share inf).
    assert green["bs.crunch"]["wall_total"] >= green["bs.crunch"]["cpu_total"]
    assert cpu["bs.crunch"]["count"] == 7

    targets = {job: f"127.0.0.1:{port}" for job, port in ports.items()}
    with prometheus_server(targets) as prom:
        # Counts are exact: each run observed once, in the process that exports.
        runs = prom.wait_for('sum by (task) (poolkit_task_runs_total{job="green"})', "task",
                             lambda v: v == {n: t["count"] for n, t in green.items()})  # fmt: skip
        assert runs["bs.coop"] == 10
        prom.wait_for('sum by (task) (poolkit_task_runs_total{job="cpu"})', "task",
                      lambda v: v == {"bs.crunch": 7.0})  # fmt: skip
        failures = prom.values('poolkit_task_failures_total{job="green"}', "task")
        assert failures == {"bs.fail": 1, "bs.crunch": 0, "bs.coop": 0}

        for job, tasks in (("green", green), ("cpu", cpu)):
            seconds = prom.values(f'poolkit_task_cpu_seconds_sum{{job="{job}"}}', "task")
            walls = prom.values(f'poolkit_task_wall_seconds_sum{{job="{job}"}}', "task")
            for name, task in tasks.items():
                # The same measurements; the profile rounds to the microsecond.
                assert seconds[name] == pytest.approx(task["cpu_total"], abs=1e-5), (job, name)
                assert walls[name] == pytest.approx(task["wall_total"], abs=1e-5), (job, name)

        blocks = prom.values('poolkit_hub_blocks_total{job="green"}', "task")
        block_seconds = prom.values('poolkit_hub_block_seconds_total{job="green"}', "task")
        assert blocks["bs.crunch"] == green["bs.crunch"]["blocks"]
        assert block_seconds["bs.crunch"] == pytest.approx(green["bs.crunch"]["block_seconds"],
                                                           abs=1e-5)  # fmt: skip
        assert block_seconds["bs.crunch"] >= 0.3  # three blocks over the 0.1 s threshold
        assert blocks.get("bs.coop", 0) == 0

        # CPU share as the dashboard computes it is the profile's.
        share = prom.values('sum by (task) (poolkit_task_cpu_seconds_sum{job="green"})'
                            ' / sum by (task) (poolkit_task_wall_seconds_sum{job="green"})',
                            "task")  # fmt: skip
        for name, task in green.items():
            assert share[name] == pytest.approx(task["cpu_share"], abs=1e-3), (name, share)

        info = {r["metric"]["job"]: r["metric"] for r in prom.query("poolkit_worker_info")}
        assert (info["green"]["pool"], info["green"]["patched"]) == ("gevent", "gevent")
        assert (info["cpu"]["pool"], info["cpu"]["patched"]) == ("prefork", "no")
        assert prom.values("poolkit_worker_concurrency", "job") == {"green": 10, "cpu": 2}
        assert prom.values("poolkit_profile_dropped_total", "job") == {"green": 0, "cpu": 0}

        # Every query of the Grafana dashboard runs on this Prometheus, and the panels
        # that must show these workers' tasks do (a rate needs two scrapes: wait).
        for promql in queries(dashboard()):
            prom.query(concrete(promql))  # raises on a PromQL error
        board = {p["title"]: p["targets"][0]["expr"] for p in dashboard()["panels"]}
        for title in ("CPU share by task", "Hub blocks by task", "Runs and failures by task"):
            prom.wait_for(concrete(board[title]), "task", lambda v: "bs.crunch" in v)


def test_prometheus_counts_time_limit_hits_and_recycles_on_threads_and_prefork(
    worker_factory: Callable[..., WorkerProcess],
    env: dict[str, str],
    client: Celery,
) -> None:
    # threads: poolkit's limits (the hard one recycles the worker with os.execve, and the
    # counts must survive it); prefork: Celery's own (billiard kills the child).
    ports = {"threads": free_port(), "prefork": free_port()}
    common = ["celery", "-A", "limitsapp", "worker", *QUIET, "--without-heartbeat",
              "--poolkit-metrics-address", "127.0.0.1"]  # fmt: skip
    threads = worker_factory([*common, "-P", "threads", "-c", "2", "-Q", "t", "-n", "t@%h",
                              "--poolkit-recycle-drain=20",
                              "--poolkit-metrics-port", str(ports["threads"])],
                             cwd=APPS, env=env)  # fmt: skip
    worker_factory([*common, "-P", "prefork", "-c", "1", "-Q", "p", "-n", "p@%h",
                    "--max-tasks-per-child", "2", "--poolkit-metrics-port", str(ports["prefork"])],
                   cwd=APPS, env=env)  # fmt: skip
    for queue in ("t", "p"):
        spun = client.send_task("limits.spin", ("s", 0.5), soft_time_limit=0.5, queue=queue)
        assert spun.get(timeout=30)["cleanup"] == 1.0
        stuck = client.send_task("limits.stuck", ("h",), time_limit=1.5, queue=queue)
        with pytest.raises(TimeLimitExceeded):
            stuck.get(timeout=60)
    # prefork: a new child after the kill; two tasks, and it is recycled (EX_RECYCLE).
    assert run_tasks(client, "limits.work", [("w", 0.01)] * 2, queue="p") == ["w", "w"]
    threads.wait_for(" ready.", count=2, timeout=60)  # the replaced threads worker

    targets = {job: f"127.0.0.1:{port}" for job, port in ports.items()}
    with prometheus_server(targets) as prom:
        for job in ("threads", "prefork"):
            prom.wait_for(f'poolkit_task_soft_limit_hits_total{{job="{job}"}} > 0', "task",
                          lambda v: v == {"limits.spin": 1.0})  # fmt: skip
            prom.wait_for(f'poolkit_task_hard_limit_hits_total{{job="{job}"}} > 0', "task",
                          lambda v: v == {"limits.stuck": 1.0})  # fmt: skip
        threads_recycles = prom.wait_for('poolkit_worker_recycles_total{job="threads"}',
                                         "reason", lambda v: len(v) == 3)  # fmt: skip
        assert threads_recycles == {"hard-limit": 1, "tasks": 0, "memory": 0}
        prom.wait_for('poolkit_worker_recycles_total{job="prefork"}', "reason",
                      lambda v: v == {"hard-limit": 1, "tasks": 1, "memory": 0})  # fmt: skip
        # The dashboard's limit panels show them.
        board = {p["title"]: p["targets"][0]["expr"] for p in dashboard()["panels"]}
        prom.wait_for(concrete(board["Time-limit hits by task"]), "task",
                      lambda v: "limits.stuck" in v)  # fmt: skip
