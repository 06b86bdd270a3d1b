"""``--only`` selection and the worker command lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from poolbench.spec import POOLS, WORKLOADS, PoolConfig, SpecError, grid, parse_only


def test_no_only_selects_everything() -> None:
    sel = parse_only([])
    assert sel.pools == {p.name for p in POOLS}
    assert sel.workloads == {w.name for w in WORKLOADS}


def test_bare_names_continue_the_previous_key() -> None:
    sel = parse_only(["pool=gevent,threads,workload=db_io", "workload=sleep"])
    assert sel.pools == {"gevent", "threads"}
    assert sel.workloads == {"db_io", "sleep"}
    assert sel.wants("gevent", "sleep")
    assert not sel.wants("solo", "sleep")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gevent", "start with pool="),
        ("pool=green", "no pool named 'green'; choose from eventlet, gevent"),
        ("queue=db_io", "unknown key 'queue'"),
        ("workload=db", "no workload named 'db'"),
    ],
)
def test_bad_selections_say_what_to_do(spec: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_only([spec])


def test_worker_command_lines() -> None:
    celery = PoolConfig("gevent", "gevent", 50).argv("benchapp", "db_io", "w@%h")
    assert celery[:5] == ["celery", "-A", "benchapp", "worker", "-P"]
    assert celery[5:11] == ["gevent", "-c", "50", "-Q", "db_io", "-n"]
    poolkit = PoolConfig("gevent+poolkit", "gevent", 50, launcher="poolkit").argv(
        "benchapp", "db_io", "w@%h"
    )
    assert poolkit[:6] == ["poolkit", "worker", "-A", "benchapp", "-P", "gevent"]


def test_grid_uses_one_prefork_child_per_core() -> None:
    rows = {p.name: p for p in grid(cores=8)}
    assert rows["prefork"].concurrency == 8
    assert rows["solo"].concurrency == 1
    assert rows["eventlet"].deprecated
    assert [p.name for p in grid(2)] == [p.name for p in POOLS]


def test_every_workload_has_its_own_task_directory() -> None:
    pools_dir = Path(__file__).resolve().parents[2] / "benchmarks" / "pools"
    for w in WORKLOADS:
        assert (pools_dir / "app" / w.module_dir / "tasks.py").is_file(), w.name
        for task in w.tasks:
            assert task.name.startswith(f"benchapp.{w.name}.tasks."), task.name
