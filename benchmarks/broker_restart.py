"""Tasks lost when the Redis broker restarts under a gevent worker, with and without poolkit.

Each run starts its own Redis (append-only file, fsync on every write, so a restart keeps
the queues as a production broker does), one gevent worker of
``tests/worker/integration/apps/lossapp.py`` at ``-c 20`` with late acks, sends ``--tasks``
tasks of 50 ms, restarts Redis (SIGTERM, start again on the same port and data) once a
quarter of them ran, then waits until every task ran or nothing moved for ``--quiet``
seconds. It counts the tasks that never ran, the entries left in kombu's ``unacked`` hash
and the tasks that ran twice. Variants:

* ``poolkit``: ``poolkit worker -A lossapp -P gevent`` with ``celery_poolkit.install(app)``
  (the step: guard, monitor, profile, restore sweep);
* ``plain``: ``celery -A lossapp worker -P gevent`` with ``LOSS_POOLKIT=0`` and
  ``POOLKIT_DISABLE=1`` (no poolkit code runs);
* ``step``: ``celery -A lossapp worker -P gevent`` with the step and poolkit's adapters
  (no launcher), and ``launcher``: ``poolkit worker`` without the step; they tell which
  part a difference between the first two comes from.

A task that never ran is looked up by its id (``loss-<n>``) in ``unacked`` ("in unacked":
the start-up restore gives it back later) and in the worker's log: "never received" (lost
between Redis and the worker), "received, never finished", and so on.

    python benchmarks/broker_restart.py --runs 8        # about 8 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

import redis
from celery import Celery

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness.servers import restartable_redis_server  # noqa: E402
from harness.tasks import unacked_task_ids  # noqa: E402
from harness.workers import start_worker  # noqa: E402

APPS = ROOT / "tests" / "worker" / "integration" / "apps"
VARIANTS = {
    "poolkit": (["poolkit", "worker"], {}),
    "plain": (["celery"], {"LOSS_POOLKIT": "0", "POOLKIT_DISABLE": "1"}),
    "step": (["celery"], {}),
    "launcher": (["poolkit", "worker"], {"LOSS_POOLKIT": "0"}),
}


def one_run(variant: str, *, tasks: int, quiet: float) -> dict[str, object]:
    head, extra = VARIANTS[variant]
    with restartable_redis_server() as rs:
        url = rs.server.url
        env = {"CELERY_BROKER_URL": url, "LOSS_COUNTS_URL": url, **extra}
        argv = [*head, "-A", "lossapp"]
        if head == ["celery"]:
            argv.append("worker")  # `poolkit worker -A app` names the command first
        worker = start_worker(
            [*argv, "-P", "gevent", "-c", "20", "-Q", "loss", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=APPS, env=env, log_dir=tempfile.mkdtemp(prefix="poolkit-restart-"),
        )  # fmt: skip
        try:
            client = Celery("client", broker=url)
            for n in range(tasks):
                client.send_task("lossapp.step", (n, 0.05), queue="loss", task_id=f"loss-{n}")
            client.close()
            counts = redis.Redis.from_url(url)
            deadline = time.monotonic() + 60
            while counts.hlen("loss:runs") < tasks // 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            before = counts.hlen("loss:runs")
            counts.close()
            rs.restart()
            counts = redis.Redis.from_url(url)
            deadline, last, since = time.monotonic() + 120, -1, time.monotonic()
            while time.monotonic() < deadline:
                done = counts.hlen("loss:runs")
                if done >= tasks:
                    break
                if done != last:
                    last, since = done, time.monotonic()
                elif time.monotonic() - since > quiet:
                    break
                time.sleep(0.2)
            runs = {int(k): int(v) for k, v in counts.hgetall("loss:runs").items()}
            log = worker.output()
            held = unacked_task_ids(counts)
            fate = {
                n: ("in unacked" if f"loss-{n}" in held else
                    "never received" if f"[loss-{n}] received" not in log else
                    "received, never finished" if f"[loss-{n}] succeeded" not in log else
                    "finished, count not written")
                for n in sorted(set(range(tasks)) - set(runs))
            }  # fmt: skip
            result: dict[str, object] = {
                "ran_before_restart": before,
                "missing": tasks - len(runs),
                "unacked": counts.hlen("unacked"),
                "queued": counts.llen("loss"),
                "twice": sum(v > 1 for v in runs.values()),
                "lost": fate,
            }
            counts.close()
            return result
        finally:
            worker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--quiet", type=float, default=8.0)
    parser.add_argument("--variants", default="poolkit,plain",
                        help=f"comma-separated, of: {', '.join(VARIANTS)}")  # fmt: skip
    args = parser.parse_args()
    # SIGTERM unwinds like an error, so the servers and the worker it started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    summary: dict[str, list[dict[str, object]]] = {}
    for i in range(args.runs):  # interleaved, so load changes hit both variants alike
        for variant in args.variants.split(","):
            result = one_run(variant, tasks=args.tasks, quiet=args.quiet)
            summary.setdefault(variant, []).append(result)
            print(f"run {i + 1} {variant}: {json.dumps(result)}", flush=True)
    for variant, results in summary.items():
        lossy = sum(int(r["missing"]) > 0 for r in results)  # type: ignore[call-overload]
        lost = sum(int(r["missing"]) for r in results)  # type: ignore[call-overload]
        left = [r["unacked"] for r in results]
        print(f"{variant}: tasks lost in {lossy} of {len(results)} runs, {lost} in all "
              f"({args.tasks} per run); left in unacked: {left}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
