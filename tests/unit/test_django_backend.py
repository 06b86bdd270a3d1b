"""The pooled Django backend's configuration errors and the task-end release."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from celery_poolkit.plugins.django import release_task_connections
from celery_poolkit.plugins.django.backends.postgresql.base import pool_options


def test_pool_options_defaults_and_values() -> None:
    assert pool_options("default", None, {}) is None
    assert pool_options("default", False, {}) is None
    assert pool_options("default", True, {}) == {"max_size": 10, "timeout": 30.0}
    assert pool_options("default", {"max_size": 4}, {"CONN_MAX_AGE": 0}) == {
        "max_size": 4, "timeout": 30.0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "settings", "message"),
    [(True, {"CONN_MAX_AGE": 60}, "set CONN_MAX_AGE to 0"),
     ({"min_size": 2}, {}, "'min_size' not supported"),
     ({"max_size": 0}, {}, r"\[\"max_size\"\] must be a whole number >= 1"),
     ({"max_size": "10"}, {}, "whole number"),
     ({"timeout": -1}, {}, "number of seconds >= 0"),
     ("yes", {}, "must be True or a dict")],
)  # fmt: skip
def test_pool_options_errors_say_what_to_change(
    raw: Any, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=message) as caught:
        pool_options("reports", raw, settings)
    assert "DATABASES['reports']" in str(caught.value)


class FakeWrapper:
    def __init__(self, *, pooled: bool, atomic: bool = False, fail: bool = False) -> None:
        self.alias = "default"
        self.connection: object | None = object()
        self.in_atomic_block = atomic
        self.green_pool = object() if pooled else None
        self.settings_dict: dict[str, Any] = {"OPTIONS": {}}
        self.fail = fail
        self.closed = 0

    def close(self) -> None:
        self.closed += 1
        if self.fail:
            raise RuntimeError("server went away")


def test_release_closes_pooled_connections_only(monkeypatch: pytest.MonkeyPatch) -> None:
    wrappers = [
        FakeWrapper(pooled=True), FakeWrapper(pooled=False), FakeWrapper(pooled=True, atomic=True),
        FakeWrapper(pooled=True, fail=True),
    ]  # fmt: skip
    native = FakeWrapper(pooled=False)
    native.settings_dict = {"OPTIONS": {"pool": True}}  # Django's own pool
    wrappers.append(native)
    import django.conf
    import django.db

    monkeypatch.setattr(
        django.db, "connections", SimpleNamespace(all=lambda initialized_only: wrappers)
    )
    # A Django project's worker: settings are configured.
    monkeypatch.setattr(type(django.conf.settings), "configured", property(lambda _: True))
    release_task_connections(sender=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
    assert [w.closed for w in wrappers] == [0, 0, 0, 0, 0]  # eager: the caller's connections
    release_task_connections(sender=SimpleNamespace(request=SimpleNamespace(is_eager=False)))
    assert [w.closed for w in wrappers] == [1, 0, 0, 1, 1]


@pytest.mark.parametrize(
    "setup",
    ["", "import sys; sys.modules['django'] = None  # as if Django were not installed\n"],
    ids=["django-installed", "django-missing"],
)
def test_release_is_silent_in_a_worker_whose_project_does_not_use_django(
    tmp_path: Path, setup: str
) -> None:
    """Django installed, never configured: the task_postrun receiver must not raise
    ImproperlyConfigured after every task (found by the docs' bootstep example)."""
    import subprocess
    import sys

    code = setup + (
        "import os; os.environ.pop('DJANGO_SETTINGS_MODULE', None)\n"
        "from types import SimpleNamespace\n"
        "from celery_poolkit.plugins.django import release_task_connections\n"
        "release_task_connections(sender=SimpleNamespace(request=SimpleNamespace(is_eager=False)))\n"
        "print('ok')\n"
    )
    # From a scratch cwd: the repository root would put the source tree's celery_poolkit
    # (without its mapped plugins/ package) ahead of the installed one.
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
