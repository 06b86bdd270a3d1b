"""Finding the pool in every launch spelling (pure functions, no patching)."""

from __future__ import annotations

import pytest

from celery_poolkit.bootstrap.argv import (
    app_name,
    detaches,
    detect_pool,
    pool_values_in_argv,
    split_global_options,
    with_plain_pool_option,
)
from celery_poolkit.cli.worker import split_worker_command
from celery_poolkit.errors import PoolSelectionError
from celery_poolkit.model import Pool


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "-P", "gevent"],
        ["worker", "-Pgevent"],
        ["worker", "--pool=gevent"],
        ["worker", "--pool", "gevent"],
        ["worker", "-EPgevent"],  # clustered: -E flag, then -P with its value
        ["worker", "-EP", "gevent"],
        ["-A", "shop", "worker", "-c", "20", "-P", "GEVENT"],
        ["worker", "-P", "celery.concurrency.gevent:TaskPool"],
    ],
)
def test_every_argv_spelling_finds_gevent(argv: list[str]) -> None:
    choice = detect_pool(argv, {})
    assert choice is not None
    assert choice.pool is Pool.GEVENT
    assert choice.source.startswith("argv ")


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "-n", "-Pgevent"],  # the value of -n, not a pool option
        ["worker", "-Q", "-P"],
        ["worker", "--hostname", "--pool=gevent"],
        ["worker", "--", "-P", "gevent"],
        ["worker", "-c20"],
    ],
)
def test_option_values_are_not_mistaken_for_the_pool(argv: list[str]) -> None:
    assert pool_values_in_argv(argv) == []


def test_environment_and_custom_pool() -> None:
    choice = detect_pool([], {"CELERY_WORKER_POOL": "gevent"})
    assert choice is not None
    assert (choice.pool, choice.source) == (Pool.GEVENT, "CELERY_WORKER_POOL=gevent")
    env = {"CELERY_CUSTOM_WORKER_POOL": "celery.concurrency.gevent:TaskPool"}
    custom = detect_pool(["worker", "-P", "custom"], env)
    assert custom is not None
    assert custom.pool is Pool.GEVENT
    unknown = detect_pool(["-P", "custom"], {"CELERY_CUSTOM_WORKER_POOL": "mine.pools:Green"})
    assert unknown is not None
    assert unknown.pool is None
    assert detect_pool(["worker", "-c", "4"], {}) is None


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["worker", "-P"], {}, r"-P needs a pool name: write e\.g\. `-P gevent`"),
        (["worker", "--pool"], {}, r"--pool needs a pool name"),
        (["worker", "-P", "greenlet"], {}, r"unknown pool 'greenlet': choose one of prefork"),
        (["worker", "-P", "prefork"], {"CELERY_WORKER_POOL": "gevent"},
         r"conflicting pools: prefork \(from argv -P prefork\) but gevent"),
        (["-P", "gevent", "--pool=eventlet"], {}, r"conflicting pools"),
        (["-P", "custom"], {}, r"CELERY_CUSTOM_WORKER_POOL is not set"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_error(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(PoolSelectionError, match=message):
        detect_pool(argv, env)


def test_same_pool_twice_is_fine() -> None:
    choice = detect_pool(["-P", "gevent"], {"CELERY_WORKER_POOL": "gevent"})
    assert choice is not None
    assert choice.pool is Pool.GEVENT


def test_global_options_move_before_worker() -> None:
    globals_, rest = split_global_options(
        ["-Pgevent", "-A", "shop", "-c", "20", "-n", "-A", "--broker=redis://x", "-q"]
    )
    assert globals_ == ["-A", "shop", "--broker=redis://x", "-q"]
    assert rest == ["-Pgevent", "-c", "20", "-n", "-A"]  # -n's value stays with -n
    assert app_name(globals_) == "shop"
    assert app_name(["-Aproj"]) == "proj"
    assert app_name(["--app=proj.celery:app"]) == "proj.celery:app"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["worker", "-A", "shop"], ([], ["-A", "shop"])),
        (["-A", "shop", "worker", "-Pgevent"], (["-A", "shop"], ["-Pgevent"])),
        (["--app=shop", "-q", "worker"], (["--app=shop", "-q"], [])),
        (["advise", "worker"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_split_worker_command(argv: list[str], expected: object) -> None:
    assert split_worker_command(argv) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-D", "-Pgevent"], ["-D", "-P", "gevent"]),
        (["--detach", "--pool", "gevent", "-c", "5"], ["--detach", "-c", "5", "-P", "gevent"]),
        (["-DEP", "gevent", "-n", "-Pweird"], ["-DE", "-n", "-Pweird", "-P", "gevent"]),
        (["-c5", "--pool=gevent", "--hostname", "-P", "-D"],
         ["-c5", "--hostname", "-P", "-D", "-P", "gevent"]),
        (["-D"], ["-D", "-P", "gevent"]),  # the pool came from the environment or config
    ],
)  # fmt: skip
def test_detaching_spells_the_pool_the_way_celery_detects_it(
    argv: list[str], expected: list[str]
) -> None:
    assert detaches(argv)
    assert with_plain_pool_option(argv, Pool.GEVENT) == expected
    assert pool_values_in_argv(expected) == [("gevent", "-P gevent")]


def test_not_detaching() -> None:
    assert not detaches(["-c", "4", "-n", "-D", "-Pgevent"])  # -D is -n's value
    assert not detaches(["--", "-D"])
