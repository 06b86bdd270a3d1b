"""collector.settling(): a run's long-lived facts leave the collector's reach, and come back."""

from __future__ import annotations

import gc

import pytest

from celery_poolkit.advisor import collector

# CPython 3.12 starts with objects of its own frozen (375 in 3.12.1): settling() then
# leaves the collector as it is, the case of the last test, which runs on every Python.
_FROZEN_AT_START = pytest.mark.skipif(
    gc.get_freeze_count() != 0, reason="this Python freezes objects of its own at start-up"
)


@_FROZEN_AT_START
def test_settled_objects_are_frozen_until_the_block_ends() -> None:
    assert gc.get_freeze_count() == 0
    with collector.settling() as settle:
        facts = [[i] for i in range(1000)]  # long-lived, like a round's facts
        settle()
        assert gc.get_freeze_count() >= len(facts)
    assert gc.get_freeze_count() == 0  # handed back: collectable again


def _settle_then_fail() -> None:
    with collector.settling() as settle:
        settle()
        raise RuntimeError


@_FROZEN_AT_START
def test_thawed_even_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError):
        _settle_then_fail()
    assert gc.get_freeze_count() == 0


def test_a_callers_own_frozen_objects_are_left_alone() -> None:
    gc.freeze()  # e.g. a prefork parent before forking
    try:
        before = gc.get_freeze_count()
        with collector.settling() as settle:
            _ = [[i] for i in range(1000)]
            settle()
            assert gc.get_freeze_count() == before  # nothing more frozen
        assert gc.get_freeze_count() == before  # and nothing of the caller's thawed
    finally:
        gc.unfreeze()
