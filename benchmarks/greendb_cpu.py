"""CPU per psycopg2 call: poolkit's wait callback against psycogreen's, in one process.

Run by ``benchmarks/greendb.py`` (which starts the server), or by hand against any
PostgreSQL on loopback::

    python benchmarks/greendb_cpu.py "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

One gevent-patched process switches between the two callbacks (psycogreen's
``gevent_wait_callback`` with the plain ``psycopg2.connect``; ``install("gevent")``)
in alternating pairs of blocks, and measures ``time.process_time()`` per call: the
process's own CPU, its resolver threads included, which other jobs on the machine slow
down far less than they slow throughput. Two calls, as the worker benchmark's tasks make
them, each ``SELECT 1``:

* ``connect``  connect, cursor, query, close (a new connection per task);
* ``kept``     cursor and query on one kept connection in autocommit.

Prints one JSON object: per call, the microseconds of every block of both sides, their
medians, the pairs' ratios (psycogreen's CPU / poolkit's, so above 1.0 means poolkit is
cheaper), their median and spread (max - min).
"""

from __future__ import annotations

import os

# poolkit's gevent entry points would install its callback during patching; this
# process chooses the callback itself, block by block.
os.environ["POOLKIT_DISABLE"] = "1"

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import psycopg2  # noqa: E402
import psycopg2.extensions as ext  # noqa: E402
from psycogreen.gevent import gevent_wait_callback  # noqa: E402

from celery_poolkit.greendb import psycopg2 as green_psycopg2  # noqa: E402

SIDES = ("psycogreen", "poolkit")
#: Calls per block: (connect, kept). A connect costs ~20x a kept query.
CALLS = {"connect": 200, "kept": 4000}


def use(side: str) -> None:
    green_psycopg2.uninstall()
    if side == "psycogreen":
        ext.set_wait_callback(gevent_wait_callback)
    else:
        ext.set_wait_callback(None)
        green_psycopg2.install("gevent")


def connect_call(dsn: str) -> Callable[[], None]:
    def call() -> None:
        conn = psycopg2.connect(dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.close()

    return call


def kept_call(conn: Any) -> Callable[[], None]:
    def call() -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")

    return call


def block(call: Callable[[], None], calls: int) -> float:
    """CPU microseconds per call over ``calls`` calls, after a short warm-up."""
    for _ in range(max(calls // 20, 5)):
        call()
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls * 1e6


def measure(dsn: str, pairs: int, scale: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, base_calls in CALLS.items():
        calls = max(int(base_calls * scale), 1)
        cpu: dict[str, list[float]] = {side: [] for side in SIDES}
        for pair in range(pairs):
            for side in SIDES if pair % 2 == 0 else SIDES[::-1]:
                use(side)
                if name == "connect":
                    cpu[side].append(block(connect_call(dsn), calls))
                    continue
                # The connection is opened under the side's callback and wrapper, as a
                # worker's would be.
                conn = psycopg2.connect(dsn)
                conn.autocommit = True
                try:
                    cpu[side].append(block(kept_call(conn), calls))
                finally:
                    conn.close()
        ratios = [base / ours for base, ours in zip(cpu["psycogreen"], cpu["poolkit"], strict=True)]
        out[name] = {
            "calls_per_block": calls,
            "cpu_us": cpu,
            "median_us": {side: statistics.median(cpu[side]) for side in SIDES},
            "ratios": ratios,
            "median_ratio": statistics.median(ratios),
            "ratio_spread": max(ratios) - min(ratios),
        }
    green_psycopg2.uninstall()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn")
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the calls per block (e.g. 0.1)"
    )
    args = parser.parse_args(argv)
    if args.pairs < 1 or not 0 < args.scale <= 10:
        parser.error("--pairs must be at least 1 and --scale in (0, 10]")
    print(json.dumps(measure(args.dsn, args.pairs, args.scale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
