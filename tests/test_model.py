from __future__ import annotations

import pytest

from celery_poolkit.model import Location, Pool


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gevent", Pool.GEVENT),
        (" Gevent ", Pool.GEVENT),
        ("processes", Pool.PREFORK),
        ("prefork", Pool.PREFORK),
        ("threads", Pool.THREADS),
        ("solo", Pool.SOLO),
        ("eventlet", Pool.EVENTLET),
        ("celery.concurrency.gevent:TaskPool", Pool.GEVENT),
        ("celery.concurrency.thread:TaskPool", Pool.THREADS),
    ],
)
def test_pool_parse_accepts_celery_names_and_paths(value: str, expected: Pool) -> None:
    assert Pool.parse(value) is expected


def test_pool_parse_unknown_name_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"unknown pool 'greenlet'.*prefork, threads, gevent"):
        Pool.parse("greenlet")


def test_only_gevent_and_eventlet_are_green() -> None:
    assert {p for p in Pool if p.is_green} == {Pool.GEVENT, Pool.EVENTLET}


def test_location_is_frozen_and_prints_as_path_line() -> None:
    loc = Location("shop/tasks/images.py", 14)
    assert str(loc) == "shop/tasks/images.py:14"
    with pytest.raises(AttributeError):
        loc.line = 3  # type: ignore[misc]
