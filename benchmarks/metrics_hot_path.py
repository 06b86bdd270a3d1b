"""CPU cost of the Prometheus metrics per task run, without a worker (issue 14).

What a worker with ``--poolkit-metrics-port`` pays per task run, in the thread that ends
the task: :class:`celery_poolkit.worker.metrics.TaskMetrics`'s ``run`` (one
``deque.append``) and, amortized, its fold into per-label sums at scrape time -- next to
what the first exporter did, two prometheus_client Histogram observations and two
Counter increments through ``labels()`` (each a lock and a label lookup). CPU time of
this thread (``time.thread_time``), so other load on the machine does not move it; the
variants alternate, ``--repeat`` rounds, medians reported.

    python benchmarks/metrics_hot_path.py [--runs 200000] [--repeat 5] [--gevent]

``--gevent`` monkey-patches first, as a gevent worker is (prometheus_client's locks are
then gevent's).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

if "--gevent" in sys.argv:  # before anything imports threading
    from gevent import monkey

    monkey.patch_all()

from prometheus_client import Counter, Histogram

from celery_poolkit.worker.metrics import BUCKETS, TaskMetrics

NAMES = [f"proj.tasks.t{i}" for i in range(20)]


def prometheus_client_observer() -> Callable[[str, float, float, bool], None]:
    """The first exporter's per-run work (celery_poolkit 0.x before this change)."""
    wall = Histogram("w", "", ["task"], buckets=BUCKETS, registry=None)
    cpu = Histogram("c", "", ["task"], buckets=BUCKETS, registry=None)
    runs = Counter("r", "", ["task"], registry=None)
    failures = Counter("f", "", ["task"], registry=None)

    def run(name: str, w: float, c: float, failed: bool) -> None:
        wall.labels(name).observe(w)
        cpu.labels(name).observe(c)
        runs.labels(name).inc()
        f = failures.labels(name)
        if failed:
            f.inc()

    return run


def measure(runs: int) -> dict[str, float]:
    """Microseconds of this thread's CPU per run, for each variant."""
    args = [(NAMES[i % len(NAMES)], 0.003 * (i % 7), 0.001 * (i % 5), i % 50 == 0)
            for i in range(runs)]  # fmt: skip
    out: dict[str, float] = {}
    observe = prometheus_client_observer()
    started = time.thread_time()
    for a in args:
        observe(*a)
    out["prometheus_client"] = (time.thread_time() - started) / runs * 1e6
    metrics = TaskMetrics()
    run = metrics.run
    started = time.thread_time()
    for a in args:
        run(*a)
    hot = time.thread_time() - started
    started = time.thread_time()
    list(metrics.families())  # the scrape: fold what is left, build the families
    # run() folds inline every FOLD_AT runs, so this is the whole cost, not the append's.
    out["poolkit TaskMetrics"] = (hot + time.thread_time() - started) / runs * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gevent", action="store_true", help="monkey-patch first")
    args = parser.parse_args()
    if not 1000 <= args.runs <= 2_000_000 or not 1 <= args.repeat <= 50:
        parser.error("--runs must be 1000-2000000 and --repeat 1-50")
    rounds = [measure(args.runs) for _ in range(args.repeat)]
    base = statistics.median(r["prometheus_client"] for r in rounds)
    print(f"{'gevent-patched' if args.gevent else 'unpatched'}, {args.runs} runs x {args.repeat}:")
    for key in rounds[0]:
        value = statistics.median(r[key] for r in rounds)
        print(f"  {key:20s} {value:7.3f} us CPU per run ({value / base:.3f}x)")


if __name__ == "__main__":
    main()
