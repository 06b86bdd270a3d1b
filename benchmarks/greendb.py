"""Green PostgreSQL drivers and pools, measured on real workers in alternating pairs.

Run from the repository root (it starts its own Redis and PostgreSQL on loopback ports
and stops them by pid)::

    python benchmarks/greendb.py                 # 5 pairs of 1000 tasks per comparison
    python benchmarks/greendb.py --pairs 7 --only connect,kept --json out.json

Every setup is a real ``celery -A <app> worker -P gevent`` started from
``tests/greendb/apps`` (the apps the integration tests use), one worker at a time. A
comparison runs its two setups in ``--pairs`` back-to-back pairs whose order alternates
(AB, BA, AB, ...), so the load of a shared machine hits both sides of a pair alike; its
verdict is the median of the pairs' ratios, reported with their spread (max - min).
Each task runs ``SELECT pg_sleep(0.05)``. The comparisons:

* ``connect``  poolkit / psycogreen, pgapp, ``-c 50``, a new psycopg2 connection per
  task. ``psycogreen``: ``POOLKIT_DISABLE=1`` and psycogreen's ``patch_psycopg()`` by
  hand (what users do today); ``poolkit``: no code change, celery-poolkit's callback
  (cancel on interruption, connect_timeout, green DNS). Target >= 1.0x.
* ``kept``     the same two callbacks with a kept connection per greenlet (pgapp's
  ``kept_query``): the callback without the connect. Target >= 1.0x.
* ``django``   celery-poolkit's pooled Django backend, ``-c 50``, ``max_size=10``, against
  Django's own backend at ``-c 10`` (ten connections, the only honest cap Django has
  today). Target >= 0.9x, and never more than 10 connections.
* ``django-c50`` (contrast, no target) Django's own backend at ``-c 50`` (50 connections)
  against ``-c 10``.

Reported per setup: median tasks/s over its rounds (each round: a warm-up of 100 tasks,
then ``--tasks`` timed from the first send to the last result), the worker's CPU per task
(user + system, from /proc), the peak number of its connections in ``pg_stat_activity``
(sampled every 20 ms) and the connections left 10 s after its warm shutdown. Before the
workers, ``benchmarks/greendb_cpu.py`` measures the CPU per psycopg2 call of both
callbacks in one process (``--cpu-pairs``), a figure the machine's load barely moves.
The load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from celery import Celery  # noqa: E402
from celery.result import ResultSet  # noqa: E402

from harness.pgstat import ActivitySampler, wait_for_connections  # noqa: E402
from harness.servers import PostgresServer, postgres_server, redis_server  # noqa: E402
from harness.workers import start_worker  # noqa: E402

APPS = REPO / "tests" / "greendb" / "apps"
SLEEP = 0.05
WARMUP = 100


@dataclass(frozen=True)
class Setup:
    name: str
    app: str
    task: str
    concurrency: int
    env: dict[str, str]


SETUPS = {
    s.name: s
    for s in (
        Setup("psycogreen", "pgapp", "pgapp.tasks.query", 50,
              {"GREENDB_MODE": "psycogreen", "POOLKIT_DISABLE": "1"}),
        Setup("poolkit", "pgapp", "pgapp.tasks.query", 50, {"GREENDB_MODE": "poolkit"}),
        Setup("psycogreen-kept", "pgapp", "pgapp.tasks.kept_query", 50,
              {"GREENDB_MODE": "psycogreen", "POOLKIT_DISABLE": "1"}),
        Setup("poolkit-kept", "pgapp", "pgapp.tasks.kept_query", 50,
              {"GREENDB_MODE": "poolkit"}),
        Setup("django-stock-c10", "djapp", "djapp.tasks.query", 10, {"DJAPP_ENGINE": "stock"}),
        Setup(
            "django-pool-c50", "djapp", "djapp.tasks.query", 50,
            {"DJAPP_ENGINE": "poolkit", "GREENDB_POOL_SIZE": "10",
             "GREENDB_POOL_TIMEOUT": "30"},
        ),
        Setup("django-stock-c50", "djapp", "djapp.tasks.query", 50, {"DJAPP_ENGINE": "stock"}),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    name: str
    setup: str
    baseline: str
    target: float | None  # minimum median ratio of the pairs; None: a contrast
    max_peak: int | None = None  # most connections ``setup`` may hold


COMPARISONS = {
    c.name: c
    for c in (
        Comparison("connect", "poolkit", "psycogreen", 1.0),
        Comparison("kept", "poolkit-kept", "psycogreen-kept", 1.0),
        Comparison("django", "django-pool-c50", "django-stock-c10", 0.9, max_peak=10),
        Comparison("django-c50", "django-stock-c50", "django-stock-c10", None),
    )
}


@dataclass
class Result:
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    left_after_stop: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_round(
    setup: Setup, db: PostgresServer, broker: str, client: Celery, *, tasks: int, log_dir: Path
) -> tuple[float, float, int, int]:
    name = f"bench-{setup.name}-{uuid.uuid4().hex[:6]}"
    (log_dir / name).mkdir(parents=True)
    worker = start_worker(
        ["celery", "-A", setup.app, "worker", "-P", "gevent", "-c", str(setup.concurrency),
         "-Q", "greendb", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--loglevel=WARNING"],
        cwd=APPS,
        env={"CELERY_BROKER_URL": broker, "GREENDB_DSN": f"{db.dsn} application_name={name}",
             **setup.env},
        log_dir=log_dir / name, timeout=60,
    )  # fmt: skip
    try:
        _batch(client, setup.task, WARMUP)
        with ActivitySampler(db.dsn, name) as sampler:
            cpu = cpu_seconds(worker.pid)
            started = time.monotonic()
            _batch(client, setup.task, tasks)
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(worker.pid) - cpu
    finally:
        worker.stop()
    left, _ = wait_for_connections(db.dsn, name, total=0, timeout=10)
    return tasks / elapsed, cpu * 1000 / tasks, sampler.peak, left


def _batch(client: Celery, task: str, count: int) -> None:
    results = ResultSet([client.send_task(task, (SLEEP,)) for _ in range(count)], app=client)
    try:
        # join_native polls the Redis backend in bulk: one result at a time would make
        # the client, not the worker, the bottleneck.
        values = results.join_native(timeout=120)
    finally:
        results.clear()
    if values != [SLEEP] * count:
        raise RuntimeError(f"{task}: {sum(v != SLEEP for v in values)} task(s) failed")


def cpu_per_call(dsn: str, pairs: int, scale: float) -> dict[str, Any]:
    """benchmarks/greendb_cpu.py in its own (gevent-patched) process."""
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "greendb_cpu.py"), dsn,
         "--pairs", str(pairs), "--scale", str(scale)],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000, help="timed tasks per round")
    parser.add_argument("--pairs", type=int, default=5, help="alternating pairs per comparison")
    parser.add_argument(
        "--cpu-pairs", type=int, default=7, help="pairs of the CPU-per-call measurement (0: skip)"
    )
    parser.add_argument(
        "--cpu-scale", type=float, default=1.0, help="calls per CPU block, times this"
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--only", help=f"comma-separated comparisons (default: all of {', '.join(COMPARISONS)})"
    )
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.pairs < 1 or args.cpu_pairs < 0:
        parser.error("--tasks and --pairs must be at least 1, --cpu-pairs at least 0")
    wanted = args.only.split(",") if args.only else list(COMPARISONS)
    unknown = sorted(set(wanted) - set(COMPARISONS))
    if unknown:
        parser.error(
            f"unknown comparison(s) {', '.join(unknown)}; choose from {', '.join(COMPARISONS)}"
        )
    comparisons = [COMPARISONS[name] for name in wanted]

    results: dict[str, Result] = {}
    ratios: dict[str, list[float]] = {c.name: [] for c in comparisons}
    cpu: dict[str, Any] = {}
    log_dir = Path(f"/tmp/poolkit-bench-greendb-{uuid.uuid4().hex[:6]}")
    load_before = load()
    print(f"load average (1/5/15 min) at start: {load_before}", flush=True)
    with redis_server() as redis_srv, postgres_server() as pg:
        if args.cpu_pairs:
            cpu = cpu_per_call(pg.dsn, args.cpu_pairs, args.cpu_scale)
        broker = redis_srv.url_for(1)
        client = Celery("bench", broker=broker, backend=broker)
        client.conf.task_default_queue = "greendb"
        for comparison in comparisons:
            sides = (SETUPS[comparison.baseline], SETUPS[comparison.setup])
            for pair_no in range(args.pairs):
                rates = {}
                for setup in sides if pair_no % 2 == 0 else sides[::-1]:
                    rate, cpu_ms, peak, left = run_round(
                        setup, pg, broker, client, tasks=args.tasks, log_dir=log_dir
                    )
                    r = results.setdefault(setup.name, Result())
                    r.rates.append(rate)
                    r.cpu_ms.append(cpu_ms)
                    r.peaks.append(peak)
                    r.left_after_stop.append(left)
                    rates[setup.name] = rate
                    print(
                        f"{comparison.name} pair {pair_no + 1} {setup.name:<18} "
                        f"{rate:7.1f} tasks/s  worker CPU {cpu_ms:5.2f} ms/task  "
                        f"peak connections {peak:3d}  left after stop {left}",
                        flush=True,
                    )
                ratios[comparison.name].append(rates[comparison.setup] / rates[comparison.baseline])
        client.close()
    load_after = load()

    print(f"\n{args.tasks} tasks per round, {args.pairs} alternating pair(s), "
          f"SELECT pg_sleep({SLEEP}); load average {load_before} at start, "
          f"{load_after} at the end\n")  # fmt: skip
    if cpu:
        print("CPU per psycopg2 call, one process, alternating blocks (benchmarks/greendb_cpu.py)")
        print("| call | psycogreen us | poolkit us | psycogreen / poolkit: median | spread |")
        print("|---|---:|---:|---:|---|")
        for call, c in cpu.items():
            print(
                f"| {call} | {c['median_us']['psycogreen']:.1f} | {c['median_us']['poolkit']:.1f} "
                f"| {c['median_ratio']:.2f}x | {spread(c['ratios'])} |"
            )
        print()
    print(
        "| setup | -c | median tasks/s | rounds | worker CPU ms/task | peak connections "
        "| left after stop |"
    )
    print("|---|---:|---:|---|---:|---:|---:|")
    for name, r in results.items():
        rounds = ", ".join(f"{x:.0f}" for x in r.rates)
        print(
            f"| {name} | {SETUPS[name].concurrency} | {r.median:.1f} | {rounds} | "
            f"{statistics.median(r.cpu_ms):.2f} | {max(r.peaks)} | "
            f"{max(r.left_after_stop)} |"
        )
    ok = True
    print()
    for c in comparisons:
        median = statistics.median(ratios[c.name])
        pairs = ", ".join(f"{x:.2f}" for x in ratios[c.name])
        line = (
            f"{c.name}: {c.setup} / {c.baseline}: median {median:.2f}x of {len(ratios[c.name])} "
            f"pairs (spread {spread(ratios[c.name])}: {pairs})"
        )
        if c.target is not None:
            met = median >= c.target
            ok &= met
            line += f", target >= {c.target}x {'ok' if met else 'BELOW TARGET'}"
        print(line)
        if c.max_peak is not None:
            peak = max(results[c.setup].peaks)
            ok &= peak <= c.max_peak
            print(f"{c.name}: {c.setup} peak connections {peak} (target <= {c.max_peak})")
    left = max(max(r.left_after_stop) for r in results.values())
    print(f"connections left after any worker stopped: {left} (target 0)")
    ok &= left == 0
    if args.json:
        args.json.write_text(
            json.dumps(
                {"load_average": [load_before, load_after], "cpu_per_call": cpu,
                 "ratios": ratios, "setups": {k: asdict(v) for k, v in results.items()}},
                indent=2,
            )
        )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
