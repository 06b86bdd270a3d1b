"""The theoretical limit: concurrency/latency for waits, cores/work for CPU, both for a mix."""

from __future__ import annotations

import pytest
from poolbench.limits import theoretical_limit
from poolbench.spec import WORKLOADS

BY_NAME = {w.name: w for w in WORKLOADS}


@pytest.mark.parametrize("name", ["http_io", "db_io", "sleep"])
@pytest.mark.parametrize(("concurrency", "expected"), [(1, 20.0), (2, 40.0), (50, 1000.0)])
def test_waits_scale_with_concurrency(name: str, concurrency: int, expected: float) -> None:
    assert theoretical_limit(BY_NAME[name], concurrency, cores=2) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["cpu_py", "cpu_nogil"])
@pytest.mark.parametrize("concurrency", [1, 2, 50])
def test_cpu_is_the_machines_limit_for_every_pool(name: str, concurrency: int) -> None:
    assert theoretical_limit(BY_NAME[name], concurrency, cores=2) == pytest.approx(40.0)
    assert theoretical_limit(BY_NAME[name], concurrency, cores=4) == pytest.approx(80.0)


def test_mixed_takes_the_tighter_of_both_bounds() -> None:
    mixed = BY_NAME["mixed"]
    assert mixed.kind == "mixed"
    # Two fifths of the tasks are 50 ms of CPU: 2 cores allow 2 / 0.02 s = 100/s.
    assert theoretical_limit(mixed, 50, cores=2) == pytest.approx(100.0)
    # One slot, 50 ms per task whatever its kind: 20/s.
    assert theoretical_limit(mixed, 1, cores=2) == pytest.approx(20.0)
    assert theoretical_limit(mixed, 2, cores=2) == pytest.approx(40.0)


def test_nonsense_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        theoretical_limit(BY_NAME["sleep"], 0, cores=2)
