"""Green PostgreSQL drivers and pools, measured on real workers side by side.

Run from the repository root (it starts its own Redis and PostgreSQL on loopback ports
and stops them by pid)::

    python benchmarks/greendb.py                 # 3 rounds of 1000 tasks per setup
    python benchmarks/greendb.py --tasks 400 --rounds 1 --json out.json

Every setup is a real ``celery -A <app> worker -P gevent`` started from
``tests/greendb/apps`` (the apps the integration tests use), one worker at a time, in
rounds whose order rotates, so slow drift of a shared machine hits every setup alike.
Each task runs ``SELECT pg_sleep(0.05)``:

* ``psycogreen``  pgapp, ``-c 50``, a new psycopg2 connection per task, psycogreen's wait
  callback patched by hand (what users do today).
* ``poolkit``     the same with celery-poolkit's callback (cancel on interruption,
  connect_timeout, green DNS): it must not cost throughput (target >= 0.9x psycogreen).
* ``django-stock-c10``  Django's backend on psycopg2, ``-c 10``: ten connections, the only
  honest cap Django has today.
* ``django-pool-c50``   celery-poolkit's pooled backend, ``-c 50``, ``max_size=10``: never
  more than 10 connections (target >= 0.9x django-stock-c10).
* ``django-stock-c50``  Django's backend, ``-c 50``, for contrast: 50 connections.

Reported per setup: median tasks/s over the rounds (each round: a warm-up of 100 tasks,
then ``--tasks`` timed from the first send to the last result), the peak number of the
worker's connections in ``pg_stat_activity`` (sampled every 20 ms), and the connections
left 10 s after the worker's warm shutdown. Ratios compare medians from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

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


SETUPS = (
    Setup("psycogreen", "pgapp", "pgapp.tasks.query", 50,
          {"GREENDB_MODE": "psycogreen", "POOLKIT_DISABLE": "1"}),
    Setup("poolkit", "pgapp", "pgapp.tasks.query", 50, {"GREENDB_MODE": "poolkit"}),
    Setup("django-stock-c10", "djapp", "djapp.tasks.query", 10, {"DJAPP_ENGINE": "stock"}),
    Setup(
        "django-pool-c50", "djapp", "djapp.tasks.query", 50,
        {"DJAPP_ENGINE": "poolkit", "GREENDB_POOL_SIZE": "10", "GREENDB_POOL_TIMEOUT": "30"},
    ),
    Setup("django-stock-c50", "djapp", "djapp.tasks.query", 50, {"DJAPP_ENGINE": "stock"}),
)  # fmt: skip

#: The issue's targets: (setup, baseline, minimum ratio of median rates).
TARGETS = (("poolkit", "psycogreen", 0.9), ("django-pool-c50", "django-stock-c10", 0.9))


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000, help="timed tasks per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--only", help="comma-separated setups to run (default: all); targets need both sides"
    )
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.rounds < 1:
        parser.error("--tasks and --rounds must be at least 1")
    known = [s.name for s in SETUPS]
    wanted = args.only.split(",") if args.only else known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        parser.error(f"unknown setup(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    setups = tuple(s for s in SETUPS if s.name in wanted)

    results = {s.name: Result() for s in setups}
    log_dir = Path(f"/tmp/poolkit-bench-greendb-{uuid.uuid4().hex[:6]}")
    with redis_server() as redis_srv, postgres_server() as pg:
        broker = redis_srv.url_for(1)
        client = Celery("bench", broker=broker, backend=broker)
        client.conf.task_default_queue = "greendb"
        for round_no in range(args.rounds):
            shift = round_no % len(setups)
            order = setups[shift:] + setups[:shift]
            for setup in order:
                rate, cpu_ms, peak, left = run_round(
                    setup, pg, broker, client, tasks=args.tasks, log_dir=log_dir
                )
                r = results[setup.name]
                r.rates.append(rate)
                r.cpu_ms.append(cpu_ms)
                r.peaks.append(peak)
                r.left_after_stop.append(left)
                print(
                    f"round {round_no + 1} {setup.name:<18} {rate:7.1f} tasks/s  "
                    f"worker CPU {cpu_ms:5.2f} ms/task  "
                    f"peak connections {peak:3d}  left after stop {left}",
                    flush=True,
                )
        client.close()

    print(f"\n{args.tasks} tasks x {args.rounds} round(s), SELECT pg_sleep({SLEEP})\n")
    print(
        "| setup | -c | median tasks/s | rounds | worker CPU ms/task | peak connections "
        "| left after stop |"
    )
    print("|---|---:|---:|---|---:|---:|---:|")
    for s in setups:
        r = results[s.name]
        rounds = ", ".join(f"{x:.0f}" for x in r.rates)
        print(
            f"| {s.name} | {s.concurrency} | {r.median:.1f} | {rounds} | "
            f"{statistics.median(r.cpu_ms):.2f} | {max(r.peaks)} | "
            f"{max(r.left_after_stop)} |"
        )
    ok = True
    print()
    for name, base, minimum in TARGETS:
        if name not in results or base not in results:
            continue
        ratio = results[name].median / results[base].median
        verdict = "ok" if ratio >= minimum else "BELOW TARGET"
        ok &= ratio >= minimum
        print(f"{name} / {base}: {ratio:.2f}x (target >= {minimum}x) {verdict}")
    if "django-stock-c50" in results and "django-stock-c10" in results:
        contrast = results["django-stock-c50"].median / results["django-stock-c10"].median
        print(f"django-stock-c50 / django-stock-c10: {contrast:.2f}x (contrast)")
    if "django-pool-c50" in results:
        pool_peak = max(results["django-pool-c50"].peaks)
        print(f"django-pool-c50 peak connections: {pool_peak} (target <= 10)")
        ok &= pool_peak <= 10
    left = max(max(r.left_after_stop) for r in results.values())
    print(f"connections left after any worker stopped: {left} (target 0)")
    ok &= left == 0
    if args.json:
        args.json.write_text(json.dumps({k: asdict(v) for k, v in results.items()}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
