"""Batch sizing, the shared-machine guard's rule, and process trees."""

from __future__ import annotations

import pytest
from poolbench.cell import QUICK, Plan, batch_size, warmup_size
from poolbench.guard import Load
from poolbench.procfs import tree


def test_batches_aim_at_a_duration_within_bounds() -> None:
    plan = Plan()
    assert batch_size(400.0, plan, 1) == 800  # 2 s at 400/s
    assert batch_size(1000.0, plan, 1) == plan.max_tasks
    assert batch_size(5.0, plan, 1) == plan.min_tasks
    assert batch_size(33.0, plan, 5) == 70  # rounded up to whole rounds of the mix
    assert batch_size(400.0, QUICK, 1) == 240


def test_warmup_fills_the_pool_twice_at_most() -> None:
    plan = Plan()
    assert warmup_size(1000.0, 50, plan, 1) == 100
    assert warmup_size(40.0, 50, plan, 1) == 20  # CPU: half a second at the limit
    assert warmup_size(20.0, 1, plan, 1) == 2
    assert warmup_size(100.0, 50, plan, 5) == 50


@pytest.mark.parametrize(
    ("foreign", "busy", "disturbed"),
    [(0.5, 0.9, True), (0.29, 0.99, False), (1.0, 0.84, False), (0.3, 0.85, True)],
)
def test_disturbed_needs_foreign_load_on_a_busy_machine(
    foreign: float, busy: float, disturbed: bool
) -> None:
    assert Load(seconds=1.0, foreign_cores=foreign, machine_busy=busy).disturbed is disturbed


def test_tree_follows_children_only() -> None:
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
    assert tree(10, parents) == {10, 11, 12, 13}
    assert tree(20, parents) == {20, 21}
    assert tree(99, parents) == set()


def test_guard_counts_cpu_outside_the_benchmark_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Foreign CPU = machine busy time minus the benchmark tree's, per second."""
    from poolbench import guard, procfs

    clock = iter([100.0, 102.0])  # two seconds between the snapshots
    machine = iter([procfs.MachineCpu(busy=1000, total=2000),
                    procfs.MachineCpu(busy=1000 + 360, total=2000 + 400)])  # fmt: skip
    ours = iter([{1: 50, 2: 10}, {1: 90, 2: 20, 3: 30}])  # pid 3 appeared: counted in full
    monkeypatch.setattr(procfs, "CLOCK_TICKS", 100)
    g = guard.Guard(root=1)
    monkeypatch.setattr(g, "snapshot", lambda: guard._Snapshot(
        at=next(clock), machine=next(machine), ours=next(ours)))  # fmt: skip
    load = g.load_since(g.snapshot())
    # busy 360 ticks, ours 40 + 10 + 30 = 80 ticks: 280 ticks / 100 Hz / 2 s = 1.4 cores
    assert load.foreign_cores == pytest.approx(1.4)
    assert load.machine_busy == pytest.approx(0.9)
    assert load.disturbed
