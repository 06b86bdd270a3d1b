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
