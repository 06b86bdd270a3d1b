"""The start-up sweep's decisions without a broker (its effect on real Redis and real
workers is in tests/worker/integration/test_unacked_restore.py)."""

from __future__ import annotations

import logging
import types

import pytest
from celery import Celery

from celery_poolkit.worker import restore_unacked
from celery_poolkit.worker.step import StepOptions, resolve_options


def _worker(eventloop: bool | None, app: Celery | None = None) -> types.SimpleNamespace:
    def should_use_eventloop() -> bool:
        if eventloop is None:
            raise AttributeError("not a WorkController")
        return eventloop

    return types.SimpleNamespace(should_use_eventloop=should_use_eventloop, app=app)


def test_only_workers_on_the_blocking_loop_need_the_sweep() -> None:
    assert restore_unacked.needs_restore(_worker(False)) is True  # gevent, eventlet
    assert restore_unacked.needs_restore(_worker(True)) is False  # prefork: kombu sweeps
    assert restore_unacked.needs_restore(_worker(None)) is False  # unknown: do nothing


def test_a_broker_that_is_not_redis_has_nothing_to_restore() -> None:
    app = Celery("t", broker="memory://")
    try:
        assert restore_unacked.restore_abandoned(app, timeout=1) is None
    finally:
        app.close()


def test_a_broker_that_is_down_is_logged_and_the_worker_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    app = Celery("t", broker="redis://127.0.0.1:9/0")
    try:
        with caplog.at_level(logging.WARNING, logger="celery_poolkit"):
            assert restore_unacked.run(_worker(False, app), timeout=2) is None
    finally:
        app.close()
    assert "could not restore the broker's unacknowledged messages" in caplog.text


def test_the_option_turns_it_off() -> None:
    opts = resolve_options({}, {"poolkit_restore_unacked": False}, {}, {})
    assert opts == StepOptions(restore_unacked=False)
    assert StepOptions().restore_unacked is True
