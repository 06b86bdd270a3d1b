"""What the guard's advisor pass reads: the app's project only, within a time bound.

Each test builds a small project in a temporary folder and imports its app for real;
the advisor itself runs in the guard's child process, as in a worker.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from celery_poolkit.model import Pool
from celery_poolkit.worker import guard

APP = """
import psycopg2
from celery import Celery

app = Celery("{name}")
app.conf.task_default_queue = "io"


@app.task(name="{name}.fetch", autoretry_for=(ConnectionError,), max_retries=3)
def fetch(dsn):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        return cur.fetchone()[0]


@app.task(name="{name}.count")
def count(dsn):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM orders")
        return cur.fetchone()[0]
"""


_names = itertools.count()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``tmp/work`` (a pyproject.toml) holding package ``gproj`` with the app; a Procfile
    of another project sits above it, in ``tmp``."""

    def make(layout: str = "work") -> tuple[Any, Path]:
        # A fresh name each time: Celery keeps the first callable registered per name.
        name = f"gproj{next(_names)}"
        top = tmp_path / layout
        package = top / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "celery.py").write_text(textwrap.dedent(APP.format(name=name)))
        monkeypatch.syspath_prepend(str(top))
        module = __import__(f"{name}.celery", fromlist=["app"])
        return module.app, top

    (tmp_path / "Procfile").write_text("worker: celery -A elsewhere worker -P threads\n")
    before = set(sys.modules)
    yield make
    for name in set(sys.modules) - before:
        if name.startswith("gproj"):
            del sys.modules[name]


def _facts(app: Any, pool: Pool = Pool.GEVENT) -> guard.WorkerFacts:
    return guard.WorkerFacts(pool=pool, pool_name=pool.value, queues=("io",),
                             argv=("celery", "-A", "gproj", "worker"), concurrency=10)  # fmt: skip


def test_a_retrying_task_is_read_from_its_own_file_not_celerys(project: Any) -> None:
    app, top = project()
    (top / "pyproject.toml").write_text("[project]\nname = 'gproj'\n")
    _routes, files = guard.task_sources(app, ("io",))
    assert (top / app.main / "celery.py").resolve() in files
    assert not any(f.name == "autoretry.py" for f in files), files  # Celery's wrapper


def test_the_root_is_the_apps_project_never_a_common_parent(project: Any) -> None:
    app, top = project()
    (top / "pyproject.toml").write_text("[project]\nname = 'gproj'\n")
    assert guard.project_root(app, _facts(app).argv) == top.resolve()


def test_without_a_marker_the_root_is_the_apps_import_root(project: Any) -> None:
    app, top = project("a/b/c/d")
    assert guard.project_root(app, _facts(app).argv) == top.resolve()


def test_the_advisor_pass_stays_in_the_project_and_trusts_the_live_driver_state(
    project: Any,
) -> None:
    app, top = project()
    (top / "pyproject.toml").write_text("[project]\nname = 'gproj'\n")
    found = list(guard.advisor_view(_facts(app), app))
    rules = [f.rule for f in found]
    # PK202 ("install the adapter") is the drivers check's business in a live worker:
    # it sees whether the adapter made psycopg2 green in this very process.
    assert "PK202" not in rules, found
    # The Procfile above the project (threads) is another project's: were it read, the
    # queue would count as running on threads and be checked against that.
    assert not any("threads" in f.message for f in found), found


def test_an_eventlet_worker_hears_the_deprecation_without_a_worker_pool_setting(
    project: Any,
) -> None:
    """-P eventlet on the command line: the advisor's PK305 had no setting to point at
    and raised KeyError('worker_pool'), logged as a traceback at every start."""
    app, _top = project()
    found = list(guard.advisor_view(_facts(app, Pool.EVENTLET), app))
    assert any(f.rule == "PK305" and "deprecated" in f.message for f in found), found


def test_an_advisor_that_runs_past_the_bound_is_killed_and_skipped(
    project: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _top = project()
    pid_file = tmp_path / "child.pid"
    # A child that never finishes, standing in for an analysis too large for the bound.
    sleeper = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
    monkeypatch.setattr(guard, "_CHILD", sleeper + "time.sleep(120)")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="celery_poolkit"):
        found = list(guard.advisor_view(_facts(app), app, timeout=5.0))
    assert found == []
    assert time.monotonic() - started < 60  # bounded: the child sleeps 120 s
    assert "did not finish reading 1 file(s)" in caplog.text
    assert "the worker starts without its view" in caplog.text
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # killed and reaped


def test_the_bound_is_an_option() -> None:
    from celery_poolkit.worker.step import StepOptions, resolve_options

    assert StepOptions().advise_timeout == guard.ADVISE_TIMEOUT
    options = resolve_options({}, {}, {"advise_timeout": "3.5"}, {})
    assert options.advise_timeout == 3.5
    with pytest.raises(ValueError, match=r"poolkit_advise_timeout must be at least 0\.1"):
        resolve_options({}, {}, {"advise_timeout": 0}, {})
