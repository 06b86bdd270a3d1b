"""Size the CPU tasks so that one run takes about :data:`poolbench.spec.LATENCY_S`.

Calls the workload functions themselves (``checksum``, ``hash_password``) in the driver
process, before any server or worker is started, and times them in CPU time of the
calling thread (``time.thread_time``), not wall time: on a shared machine other jobs
stretch wall time, which would make the tasks too short and let a pool "beat" the
theoretical limit. The fastest of several timings is the estimate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from poolbench.spec import LATENCY_S


def _fastest(fn: Callable[[int], object], n: int, tries: int = 5) -> float:
    best = float("inf")
    for _ in range(tries):
        started = time.thread_time()
        fn(n)
        best = min(best, time.thread_time() - started)
    return best


def size_for(fn: Callable[[int], object], target: float = LATENCY_S, start: int = 1000) -> int:
    """The argument ``n`` for which ``fn(n)`` takes about ``target`` seconds (linear in n)."""
    n = start
    # Grow until one call is long enough to time reliably, then scale once and verify.
    while _fastest(fn, n, tries=1) < target / 10:
        n *= 4
    for _ in range(3):
        n = max(1, round(n * target / _fastest(fn, n)))
    return n


def calibrate() -> dict[str, float]:
    from benchapp.cpu_nogil.tasks import hash_password
    from benchapp.cpu_py.tasks import checksum

    rounds = size_for(checksum.run)
    iterations = size_for(hash_password.run)
    return {
        "cpu_py_rounds": rounds,
        "pbkdf2_iterations": iterations,
        "cpu_py_ms": _fastest(checksum.run, rounds) * 1000,
        "pbkdf2_ms": _fastest(hash_password.run, iterations) * 1000,
    }
