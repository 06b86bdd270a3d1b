"""Fixtures of the worker tests on real workers: the test apps' environment and a client."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from celery import Celery


@pytest.fixture
def env(redis_url: str) -> dict[str, str]:
    """The workers' environment: this test's Redis as broker and result backend."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    return {**inherited, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url}


@pytest.fixture
def client(redis_url: str) -> Iterator[Celery]:
    """A bare Celery client: tasks are sent by name, the apps' code is never imported."""
    app = Celery("client", broker=redis_url, backend=redis_url)
    yield app
    app.close()


@pytest.fixture
def runs(redis_url: str) -> Iterator[redis.Redis]:
    """The ``limits:runs`` hash the limits app counts each run in, emptied first."""
    r = redis.Redis.from_url(redis_url)
    r.delete("limits:runs")
    yield r
    r.close()
