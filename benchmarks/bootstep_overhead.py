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
the worker replaces itself during the run (issue 13; target >= 0.9x; ``--max-tasks``
sets another limit). ``--replace fork`` makes the recycling variant replace itself by
``--poolkit-recycle=fork`` (a keeper forks each replacement) instead of ``exec``;
``--versus-exec`` then makes the base variant the same recycling worker with ``exec``, so
the two replacements run side by side. With ``--leak`` both
have poolkit and run ``bench.alloc`` (50 MiB touched, then ``--io`` seconds of sleep): the
first frees the memory and runs without a memory limit, the second keeps it (the issue's
leaking task) under ``--max-memory-per-child`` ``--leak-limit`` KiB.

``--processes N`` starts N worker processes per variant (one per core is how the advisor
says to deploy; each its own ``-n bench<i>@%h``), so the queue stays served while one
replaces itself; ``--celery-defaults`` keeps Celery's mingle and gossip on, as a worker
started without those flags has them (the default is ``--without-gossip
--without-mingle``).

    python benchmarks/bootstep_overhead.py [--repeat 5] [--tasks 2000] [--pool threads]
        [--metrics | --limits | --recycle | --leak] [--processes 2] [--celery-defaults]
        [--replace fork [--versus-exec]]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from celery import Celery  # noqa: E402
from celery.result import ResultSet  # noqa: E402

from harness.procs import free_port  # noqa: E402
from harness.servers import redis_server  # noqa: E402
from harness.workers import WorkerProcess, start_worker  # noqa: E402

APPS = REPO / "tests" / "worker" / "apps"
POOLS = {
    "gevent": ["-P", "gevent", "-c", "100"],
    "prefork": ["-P", "prefork", "-c", "2"],
    "threads": ["-P", "threads", "-c", "8"],
    "solo": ["-P", "solo"],
}
#: --limits / --recycle / --leak: (worker flags of the base variant, of the other, send
#: options). --leak's tasks are set in main() (they differ between the variants).
MODES = {
    "limits": (["--no-poolkit-limits"], [], {"soft_time_limit": 60, "time_limit": 120}),
    "recycle": ([], [], {}),
    "leak": ([], [], {}),
}
WARMUP = 200
DEADLINE = 300.0  # seconds: a run that takes longer is a failure, not a number


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in the worker's session, and of
    the children its leader has reaped (a prefork child, or a ``--poolkit-recycle=fork``
    keeper's past workers: the kernel adds them to the leader's cutime/cstime).

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
            if stat.parent.name == str(pgid):
                total += int(fields[13]) + int(fields[14])
    return total / tick


@dataclass(frozen=True)
class Extra:
    """What one variant adds: worker flags, send_task options, the task and its kwargs."""

    flags: tuple[str, ...] = ()
    send: tuple[tuple[str, float], ...] = ()
    task: str = "bench.noop"
    kwargs: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Setup:
    """How the workers of both variants are started."""

    processes: int = 1
    celery_defaults: bool = False  # mingle and gossip on
    deadline: float = DEADLINE  # seconds for the timed tasks of one run


def run_once(
    url: str,
    pool: str,
    installed: bool,
    tasks: int,
    *,
    metrics: bool = False,
    extra: Extra = Extra(),
    setup: Setup = Setup(),
) -> tuple[float, float, int]:
    """Tasks per second of fresh workers, their CPU milliseconds per task, and how many
    times they replaced themselves during the run."""
    env = {"CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url,
           "POOLKIT_BENCH_INSTALL": "1" if installed else "0"}  # fmt: skip
    argv = ["celery", "-A", "benchapp", "worker", *POOLS[pool]]
    if not setup.celery_defaults:
        argv += ["--without-gossip", "--without-mingle"]
    argv += list(extra.flags)
    workers: list[WorkerProcess] = []
    client = Celery("bench", broker=url, backend=url)
    try:
        for i in range(setup.processes):
            own = ["-n", f"bench{i}@%h"]
            if metrics:
                own += ["--poolkit-metrics-port", str(free_port()),
                        "--poolkit-metrics-address", "127.0.0.1"]  # fmt: skip
            workers.append(start_worker([*argv, *own, "--loglevel=INFO"], cwd=APPS, env=env))
        warm = ResultSet([client.send_task("bench.noop") for _ in range(WARMUP)])
        warm.join_native(timeout=DEADLINE)
        replaced_before = sum(replacements(w) for w in workers)
        started, cpu_before = time.perf_counter(), sum(group_cpu(w.pid) for w in workers)
        send, kwargs = dict(extra.send), dict(extra.kwargs)
        results = ResultSet([client.send_task(extra.task, kwargs=kwargs, **send)
                             for _ in range(tasks)])  # fmt: skip
        results.join_native(timeout=setup.deadline)
        elapsed = time.perf_counter() - started
        cpu_ms = (sum(group_cpu(w.pid) for w in workers) - cpu_before) * 1000 / tasks
        replaced = sum(replacements(w) for w in workers) - replaced_before
        if installed and any("poolkit" not in w.output() for w in workers):
            raise SystemExit("the installed variant did not load poolkit: see "
                             + ", ".join(str(w.log) for w in workers))  # fmt: skip
        return tasks / elapsed, cpu_ms, replaced
    finally:
        client.close()
        for worker in workers:
            worker.stop()


def replacements(worker: WorkerProcess) -> int:
    """How many times the worker replaced itself so far (its start-up log lines)."""
    return worker.output().count("poolkit: replacement worker:")


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
    parser.add_argument("--max-tasks", type=int, default=1000, metavar="N",
                        help="--recycle: the worker's --max-tasks-per-child [1000]")  # fmt: skip
    parser.add_argument("--replace", choices=("exec", "fork"), default="exec",
                        help="--recycle/--leak: how the recycling worker is replaced")  # fmt: skip
    parser.add_argument("--versus-exec", action="store_true",
                        help="--replace fork: the base variant recycles too, by exec")  # fmt: skip
    parser.add_argument("--leak", action="store_true",
                        help="50 MiB tasks: freed vs leaked, max-memory-per-child")  # fmt: skip
    parser.add_argument("--leak-limit", type=int, default=1_000_000, metavar="KIB",
                        help="--leak: the worker's --max-memory-per-child [1000000]")  # fmt: skip
    parser.add_argument("--io", type=float, default=0.05, metavar="SECONDS",
                        help="--leak: each task's sleep after its allocation [0.05]")  # fmt: skip
    parser.add_argument("--processes", type=int, default=1,
                        help="worker processes per variant [1]")  # fmt: skip
    parser.add_argument("--celery-defaults", action="store_true",
                        help="mingle and gossip on, as in a worker's default")  # fmt: skip
    parser.add_argument("--deadline", type=float, default=DEADLINE, metavar="SECONDS",
                        help="fail a run whose timed tasks take longer [300]")  # fmt: skip
    args = parser.parse_args()
    mode = ("limits" if args.limits else "recycle" if args.recycle
            else "leak" if args.leak else "")  # fmt: skip
    if not 1 <= args.repeat <= 50 or not 100 <= args.tasks <= 100_000:
        parser.error("--repeat must be 1-50 and --tasks 100-100000")
    if not 1 <= args.processes <= 8 or not 0 <= args.io <= 5 or args.leak_limit < 100_000:
        parser.error("--processes must be 1-8, --io 0-5 and --leak-limit >= 100000")
    if args.max_tasks < 1 or not 10 <= args.deadline <= 1800:
        parser.error("--max-tasks must be 1 or more and --deadline 10-1800")
    if args.versus_exec and (args.replace != "fork" or mode not in ("recycle", "leak")):
        parser.error("--versus-exec needs --replace fork and --recycle or --leak")
    setup = Setup(args.processes, args.celery_defaults, args.deadline)
    base, other = ("poolkit", "metrics") if args.metrics else ("without poolkit", "with poolkit")
    if mode:
        base, other = ("poolkit", f"poolkit {mode}")
        if args.replace == "fork":
            other = f"{mode} by fork"
            base = f"{mode} by exec" if args.versus_exec else base
    print(f"load average before: {os.getloadavg()}; {' '.join(sys.argv[1:])}")
    with redis_server() as redis:
        for pool in args.pool or list(POOLS):
            plain: list[float] = []
            poolkit: list[float] = []
            plain_cpu: list[float] = []
            poolkit_cpu: list[float] = []
            replaced: list[int] = []
            for i in range(args.repeat):
                order = (False, True) if i % 2 == 0 else (True, False)
                for installed in order:
                    # --metrics: both installed; "installed" selects the metrics variant.
                    metrics = installed and args.metrics
                    extra = Extra()
                    if mode:
                        flags_base, flags_other, send = MODES[mode]
                        extra = Extra(tuple(flags_other if installed else flags_base),
                                      tuple(send.items()))  # fmt: skip
                    replace = ("--poolkit-recycle", args.replace if installed else "exec")
                    recycling = installed or args.versus_exec
                    if mode == "recycle":
                        limit = ("--max-tasks-per-child", str(args.max_tasks), *replace)
                        extra = Extra(limit if recycling else ())
                    if mode == "leak":
                        limit = ("--max-memory-per-child", str(args.leak_limit), *replace)
                        leak = recycling
                        alloc = (("mib", 50), ("seconds", args.io), ("leak", leak))
                        extra = Extra(limit if recycling else (), (), "bench.alloc", alloc)
                    with_poolkit = installed or args.metrics or bool(mode)
                    rate, cpu_ms, n = run_once(
                        redis.url, pool, with_poolkit, args.tasks,
                        metrics=metrics, extra=extra, setup=setup,
                    )  # fmt: skip
                    (poolkit if installed else plain).append(rate)
                    (poolkit_cpu if installed else plain_cpu).append(cpu_ms)
                    if installed:
                        replaced.append(n)
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
                f"{statistics.median(poolkit_cpu) / statistics.median(plain_cpu):.3f}x)\n"
                f"{'':8s} {args.processes} worker process(es) per variant; replacements "
                f"during the timed runs of {other}: {', '.join(map(str, replaced))}"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
