"""Throughput cost of poolkit's worker bootstep (issue 6): no-op tasks, real Redis.

For each pool -- gevent ``-c 100`` and prefork ``-c 2`` -- the same worker runs with and
without ``celery_poolkit.install(app)`` (hub monitor and per-task profile on), side by
side: ``--repeat`` pairs, the order inside each pair alternating so neither variant
always runs on a warmer machine. Each run starts a real ``celery -A benchapp worker``,
warms it up, then times ``--tasks`` no-op tasks from the first send to the last result.

Reported per pool: the median tasks/s of each variant, the ratio of medians (target:
>= 0.97x), and the noise: the spread of the per-pair ratios, and the run-to-run spread of
the variant without poolkit, which is what "no difference" looks like on this machine.
Throughput moves with whatever else the machine runs, so the worker's own CPU time per
task (every process of the worker's session, from /proc) is reported too: it measures
poolkit's cost even on a shared machine. The load average is printed before and after.

With ``--metrics`` both variants have poolkit installed, and the second also serves
Prometheus metrics (``--poolkit-metrics-port``, issue 14; target again >= 0.97x).
With ``--limits`` both have poolkit and send every task with a soft and a hard time limit
that never fires; the first runs ``--no-poolkit-limits`` (issue 13; target >= 0.97x).
With ``--recycle`` both have poolkit; the second runs ``--max-tasks-per-child 1000``, so
the worker replaces itself during the run (issue 13; target >= 0.9x).

    python benchmarks/bootstep_overhead.py [--repeat 5] [--tasks 2000] [--pool threads]
        [--metrics | --limits | --recycle]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from celery import Celery  # noqa: E402
from celery.result import ResultSet  # noqa: E402

from harness.procs import free_port  # noqa: E402
from harness.servers import redis_server  # noqa: E402
from harness.workers import start_worker  # noqa: E402

APPS = REPO / "tests" / "worker" / "apps"
POOLS = {
    "gevent": ["-P", "gevent", "-c", "100"],
    "prefork": ["-P", "prefork", "-c", "2"],
    "threads": ["-P", "threads", "-c", "8"],
    "solo": ["-P", "solo"],
}
#: --limits / --recycle: (worker flags of the base variant, of the other, send options).
MODES = {
    "limits": (["--no-poolkit-limits"], [], {"soft_time_limit": 60, "time_limit": 120}),
    "recycle": ([], ["--max-tasks-per-child", "1000"], {}),
}
WARMUP = 200
DEADLINE = 300.0  # seconds: a run that takes longer is a failure, not a number


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in the worker's session.

    The harness starts workers in a new session, so the group id is the pid it started:
    the parent and its prefork children, nothing else.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


Extra = tuple[list[str], dict[str, float]]  # worker flags, send_task options


def run_once(url: str, pool: str, installed: bool, tasks: int, *, metrics: bool = False,
             extra: Extra = ([], {})) -> tuple[float, float]:  # fmt: skip
    """Tasks per second of one fresh worker, and its CPU milliseconds per task."""
    env = {"CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url,
           "POOLKIT_BENCH_INSTALL": "1" if installed else "0"}  # fmt: skip
    argv = ["celery", "-A", "benchapp", "worker", *POOLS[pool], "--without-gossip",
            "--without-mingle"]  # fmt: skip
    if metrics:
        argv += ["--poolkit-metrics-port", str(free_port()),
                 "--poolkit-metrics-address", "127.0.0.1"]  # fmt: skip
    argv += extra[0]
    worker = start_worker([*argv, "--loglevel=INFO"], cwd=APPS, env=env)
    client = Celery("bench", broker=url, backend=url)
    try:
        warm = ResultSet([client.send_task("bench.noop") for _ in range(WARMUP)])
        warm.join_native(timeout=DEADLINE)
        started, cpu_before = time.perf_counter(), group_cpu(worker.pid)
        results = ResultSet([client.send_task("bench.noop", **extra[1]) for _ in range(tasks)])
        results.join_native(timeout=DEADLINE)
        elapsed = time.perf_counter() - started
        cpu_ms = (group_cpu(worker.pid) - cpu_before) * 1000 / tasks
        if installed and "poolkit" not in worker.output():
            raise SystemExit("the installed variant did not load poolkit: see " + str(worker.log))
        return tasks / elapsed, cpu_ms
    finally:
        client.close()
        worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="pairs per pool")
    parser.add_argument("--tasks", type=int, default=2000, help="timed tasks per run")
    parser.add_argument("--pool", choices=sorted(POOLS), action="append", help="default: both")
    parser.add_argument("--metrics", action="store_true",
                        help="poolkit without vs with --poolkit-metrics-port")  # fmt: skip
    parser.add_argument("--limits", action="store_true",
                        help="--no-poolkit-limits vs limits on; tasks with limits")  # fmt: skip
    parser.add_argument("--recycle", action="store_true",
                        help="poolkit vs poolkit with --max-tasks-per-child 1000")  # fmt: skip
    args = parser.parse_args()
    mode = "limits" if args.limits else "recycle" if args.recycle else ""
    if not 1 <= args.repeat <= 50 or not 100 <= args.tasks <= 100_000:
        parser.error("--repeat must be 1-50 and --tasks 100-100000")
    base, other = ("poolkit", "metrics") if args.metrics else ("without poolkit", "with poolkit")
    if mode:
        base, other = ("poolkit", f"poolkit {mode}")
    print(f"load average before: {os.getloadavg()}")
    with redis_server() as redis:
        for pool in args.pool or list(POOLS):
            plain: list[float] = []
            poolkit: list[float] = []
            plain_cpu: list[float] = []
            poolkit_cpu: list[float] = []
            for i in range(args.repeat):
                order = (False, True) if i % 2 == 0 else (True, False)
                for installed in order:
                    # --metrics: both installed; "installed" selects the metrics variant.
                    metrics = installed and args.metrics
                    extra: Extra = ([], {})
                    if mode:
                        flags_base, flags_other, send = MODES[mode]
                        extra = (flags_other if installed else flags_base, send)
                    with_poolkit = installed or args.metrics or bool(mode)
                    rate, cpu_ms = run_once(redis.url, pool, with_poolkit, args.tasks,
                                            metrics=metrics, extra=extra)  # fmt: skip
                    (poolkit if installed else plain).append(rate)
                    (poolkit_cpu if installed else plain_cpu).append(cpu_ms)
            ratios = [p / b for p, b in zip(poolkit, plain, strict=True)]
            ratio = statistics.median(poolkit) / statistics.median(plain)
            print(
                f"{pool:8s} {base:15s} {statistics.median(plain):7.0f} tasks/s "
                f"(runs {', '.join(f'{r:.0f}' for r in plain)})\n"
                f"{'':8s} {other:15s} {statistics.median(poolkit):7.0f} tasks/s "
                f"(runs {', '.join(f'{r:.0f}' for r in poolkit)})\n"
                f"{'':8s} ratio of medians {ratio:.3f}x; per-pair ratios "
                f"{min(ratios):.3f}-{max(ratios):.3f}; run-to-run spread {base} "
                f"{min(plain) / max(plain):.3f}-1\n"
                f"{'':8s} worker CPU per task: {statistics.median(plain_cpu):.3f} ms {base}, "
                f"{statistics.median(poolkit_cpu):.3f} ms {other} (medians; cost ratio "
                f"{statistics.median(poolkit_cpu) / statistics.median(plain_cpu):.3f}x)"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
