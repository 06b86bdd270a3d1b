"""Functions and classes passed to a project helper that calls them (plane's cleanup
tasks: ``process_cleanup_task(queryset_func=get_logs, model=Log)``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import APP, advise_files

from celery_poolkit.model import TaskInfo

HELPERS = """
import time
from typing import Callable

import requests
from django.db import models


class Log(models.Model):
    all_objects = models.Manager()


def get_logs():
    return requests.get("http://example.com/logs")


def wait():
    time.sleep(1)


def process(queryset_func: Callable, model, name: str = ""):
    rows = queryset_func()
    model.objects.filter(id__in=rows).delete()


def purge(model):
    model.all_objects.filter(old=True).delete()


def call_later(callback, registry):
    registry.append(callback)  # stored, never called here


def retry(fn, attempts=100_000):
    for _ in range(attempts):
        fn()
"""


def _task(tmp_path: Path, body: str) -> TaskInfo:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/helpers.py": HELPERS,
            "proj/tasks.py": APP
            + "from proj import helpers\nfrom proj.helpers import Log, get_logs, wait\n"
            + f"\n\n@app.task\ndef run():\n{body}\n",
        },
    )
    (task,) = advice.tasks
    return task


def test_a_function_passed_by_keyword_and_called_is_the_tasks(tmp_path: Path) -> None:
    task = _task(tmp_path, "    helpers.process(queryset_func=get_logs, model=None)")
    (net,) = [e for e in task.evidence if e.kind == "net_io"]
    assert net.via[-1] == "proj.helpers.get_logs"
    assert "db_io" not in {e.kind for e in task.evidence}  # model=None: nothing known


def test_a_model_class_passed_positionally_is_queried_by_the_callee(tmp_path: Path) -> None:
    task = _task(tmp_path, "    helpers.process(wait, Log)")
    kinds = {e.kind: e for e in task.evidence}
    assert task.kind == "io"
    assert kinds["db_io"].via == ("proj.tasks.run", "proj.helpers.process")
    assert "proj.helpers.Log passed to proj.helpers.process" in kinds["db_io"].note
    assert kinds["db_io"].location.path == "proj/helpers.py"
    assert kinds["sleep"].via[-1] == "proj.helpers.wait"


def test_a_call_on_the_result_of_a_call_on_the_parameter(tmp_path: Path) -> None:
    task = _task(tmp_path, "    helpers.purge(model=Log)")
    assert "db_io" in {e.kind for e in task.evidence}


@pytest.mark.parametrize(
    "body",
    [
        "    helpers.call_later(wait, [])",  # stored, not called
        "    helpers.process(queryset_func=len, model=None)",  # a builtin
        "    helpers.purge(model=helpers.LOG_MODEL)",  # not a known object
    ],
)
def test_what_the_callee_does_not_call_adds_nothing(tmp_path: Path, body: str) -> None:
    task = _task(tmp_path, body)
    assert task.kind == "unknown"
    assert not task.evidence


def test_a_loop_calling_a_parameter_is_not_cpu_work(tmp_path: Path) -> None:
    task = _task(tmp_path, "    helpers.retry(wait)")
    assert {e.kind for e in task.evidence} == {"sleep"}


def test_a_local_client_passed_to_a_helper_counts_where_the_helper_uses_it(
    tmp_path: Path,
) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
import requests


def fetch(session, url):
    return session.get(url)


def fetch_typed(session: requests.Session, url):
    return use(session, url)


def use(session, url):
    return session.post(url)


@app.task
def run(url):
    with requests.Session() as session:
        fetch(session, url)


@app.task
def run_typed(url):
    fetch_typed(requests.Session(), url)
""",
        },
    )
    found = {t.name.rpartition(".")[2]: t for t in advice.tasks}
    (ev,) = found["run"].evidence
    assert (ev.kind, ev.call) == ("net_io", "requests.Session.get"), ev
    assert ev.note.startswith("requests.Session passed to proj.tasks.fetch"), ev
    assert {e.kind for e in found["run_typed"].evidence} == {"net_io"}


def test_functions_a_library_runs_are_the_task_s_calls(tmp_path: Path) -> None:
    """``transaction.on_commit(notify)`` (also through ``functools.partial``) and
    ``executor.submit(fetch, url)`` run the function; a library call that only stores
    it (``signal.connect``) does not."""
    body = """
import functools
from concurrent.futures import ThreadPoolExecutor

import requests
from django.db import transaction
from django.dispatch import Signal

done = Signal()

def notify(url):
    requests.post(url)

@app.task
def by_name(url):
    transaction.on_commit(notify)

@app.task
def by_partial(url):
    transaction.on_commit(functools.partial(notify, url))

@app.task
def in_thread(url):
    with ThreadPoolExecutor() as pool:
        pool.submit(notify, url)

@app.task
def stored():
    done.connect(notify)
"""
    advice = advise_files(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": APP + body})
    effects = {t.name.rpartition(".")[2]: [e.value for e in t.effects] for t in advice.tasks}
    for name in ("by_name", "by_partial", "in_thread"):
        assert effects[name] == ["net_io"], (name, effects[name])
    assert effects["stored"] == []
