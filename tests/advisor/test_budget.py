"""Connection budgets across files: Django settings (PK308), the Django ``CELERY_``
namespace and the advised concurrency (PK307), and ``db-max-connections``."""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import advise_files

from celery_poolkit.advisor.config import parse
from celery_poolkit.errors import ConfigError

CELERY_PY = """
import os
from celery import Celery
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
app = Celery("proj")
app.config_from_object("django.conf:settings", namespace="CELERY")
"""
TASKS_PY = """
from celery import shared_task
from proj.models import Order

@shared_task(queue="db")
def close_order(pk):
    Order.objects.filter(pk=pk).update(state="closed")
"""
MODELS_PY = """
from django.db import models

class Order(models.Model):
    pass
"""
PROCFILE = "worker: celery -A proj worker -Q db -P gevent -c 150\n"


def _django(tmp_path: Path, databases: str, procfile: str = PROCFILE, extra: str = "") -> set[str]:
    files = {
        "proj/__init__.py": "",
        "proj/celery.py": CELERY_PY,
        "proj/settings.py": f"DATABASES = {databases}\n{extra}",
        "proj/models.py": MODELS_PY,
        "proj/tasks.py": TASKS_PY,
        "Procfile": procfile,
    }
    advice = advise_files(tmp_path, files)
    return {f"{f.rule}:{f.location.path if f.location else ''}" for f in advice.findings}


PG = '{"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}}'


def test_django_without_a_pool_at_c150_passes_the_budget(tmp_path: Path) -> None:
    assert "PK308:proj/tasks.py" in _django(tmp_path, PG)


@pytest.mark.parametrize(
    "databases",
    [
        # poolkit's pooled backend, and Django 5.1's own pool: bounded per process
        '{"default": {"ENGINE": "celery_poolkit.plugins.django.backends.postgresql",'
        ' "OPTIONS": {"pool": {"max_size": 20}}}}',
        '{"default": {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"pool": True}}}',
        # not PostgreSQL, or not readable statically: no claim
        '{"default": {"ENGINE": "django.db.backends.mysql"}}',
        "dj_database_url.config()",
    ],
)
def test_pooled_other_or_unreadable_databases_stay_quiet(tmp_path: Path, databases: str) -> None:
    assert not any(f.startswith("PK308") for f in _django(tmp_path, databases))


def test_within_budget_and_prefork_stay_quiet(tmp_path: Path) -> None:
    # -c 40 x 2 advised processes (cores=2 in these tests) = 80: within 100.
    quiet = _django(tmp_path, PG, "worker: celery -A proj worker -Q db -P gevent -c 40\n")
    assert not any(f.startswith("PK308") for f in quiet)
    prefork = _django(tmp_path, PG, "worker: celery -A proj worker -Q db -c 150\n")
    assert not any(f.startswith("PK308") for f in prefork)


def test_django_celery_namespace_redis_settings(tmp_path: Path) -> None:
    extra = 'CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"\nCELERY_TASK_ACKS_LATE = True\n'
    found = _django(tmp_path, PG, extra=extra)
    assert "PK307:proj/settings.py" in found
    sized = extra + 'CELERY_BROKER_TRANSPORT_OPTIONS = {"max_connections": 200}\n'
    assert not any(f.startswith("PK307") for f in _django(tmp_path, PG, extra=sized))


def test_pk307_from_the_advice_alone(tmp_path: Path) -> None:
    """No deployment: the advised gevent -c 50 is what would overflow kombu's 10."""
    tasks = """
import time
from celery import Celery
app = Celery("proj", broker="redis://127.0.0.1:6379/0")
app.conf.task_acks_late = True

@app.task(queue="io")
def wait(seconds):
    time.sleep(seconds)
"""
    advice = advise_files(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": tasks})
    (finding,) = [f for f in advice.findings if f.rule == "PK307"]
    assert "advised -P gevent -c 50" in finding.message
    assert "max_connections=10" in finding.message
    assert "{'max_connections': 51}" in finding.message


def test_db_max_connections_config() -> None:
    assert parse({}).db_max_connections == 100
    assert parse({"db-max-connections": 400}).db_max_connections == 400
    for bad in (0, "100", True):
        with pytest.raises(ConfigError, match="db-max-connections"):
            parse({"db-max-connections": bad})
