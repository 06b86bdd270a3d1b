"""Class-hierarchy analysis: a call on a base method reaches every override.

``self``, an annotated parameter or attribute, a factory's result and a bound task's
``self`` (``base=``) may be any subclass, so the call's effects are the union over the
method and its overrides, and the evidence says it is one of N candidates. A
constructor names the exact class: no union there.
"""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import APP, advise_files, kinds

from celery_poolkit.model import Effect

CONNECTORS = """
import time

import requests


class Connector:
    def sync(self):
        self.fetch()

    def fetch(self):
        raise NotImplementedError


class HttpConnector(Connector):
    def fetch(self):
        requests.get("http://example.com")


class SlowConnector(HttpConnector):
    def fetch(self):
        time.sleep(5)


def get_connector(kind) -> Connector:
    ...
"""


def _tasks(tmp_path: Path, body: str) -> dict[str, set[str]]:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/connectors.py": CONNECTORS,
            "proj/tasks.py": APP + "from proj.connectors import *\n" + body,
        },
    )
    return kinds(advice)


def test_self_call_in_a_base_reaches_every_override(tmp_path: Path) -> None:
    tasks = _tasks(
        tmp_path,
        """
@app.task
def via_factory(kind):
    get_connector(kind).sync()

def run(connector: Connector):
    connector.fetch()

@app.task
def via_annotation(kind):
    run(get_connector(kind))
""",
    )
    assert tasks["via_factory"] == {"net_io", "sleep"}
    assert tasks["via_annotation"] == {"net_io", "sleep"}


def test_a_constructor_names_the_exact_class(tmp_path: Path) -> None:
    tasks = _tasks(tmp_path, "\n@app.task\ndef exact():\n    HttpConnector().fetch()\n")
    assert tasks["exact"] == {"net_io"}


def test_evidence_says_one_of_n_candidates(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/connectors.py": CONNECTORS,
            "proj/tasks.py": APP + "from proj.connectors import get_connector\n\n@app.task\n"
            "def go(kind):\n    get_connector(kind).fetch()\n",
        },
    )
    (task,) = advice.tasks
    (ev, *_) = [e for e in task.evidence if e.kind == "net_io"]
    assert "one of 3 candidates" in ev.note, ev
    assert "proj.connectors.Connector.fetch[*]" in ev.via, ev


def test_base_task_class_and_bound_self(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/base.py": """
import celery
import requests


class NotifyingTask(celery.Task):
    def notify(self):
        pass


class SlackTask(NotifyingTask):
    def notify(self):
        requests.post("http://example.com")
""",
            "proj/tasks.py": APP
            + """
from proj.base import NotifyingTask


@app.task(bind=True, base=NotifyingTask)
def report(self):
    self.notify()


@app.task(bind=True)
def again(self):
    self.retry(countdown=5)
""",
        },
    )
    by_name = {t.name: t for t in advice.tasks}
    assert Effect.NET_IO in by_name["proj.tasks.report"].effects
    assert Effect.BROKER_IO in by_name["proj.tasks.again"].effects


def test_plugin_classes_in_a_list_and_class_attribute_tables(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
import time

import requests


class Fetch:
    def run(self):
        requests.get("http://example.com")


class Wait:
    def run(self):
        time.sleep(1)


PLUGINS = [Fetch, Wait]


@app.task
def each():
    for plugin in PLUGINS:
        plugin().run()


@app.task
def local(kind):
    senders = {"fetch": Fetch, "wait": Wait}
    senders.get(kind)().run()


@app.task
def local_functions(kind):
    def a():
        requests.get("http://example.com")

    def b():
        time.sleep(1)

    handlers = {"a": a, "b": b}
    handlers[kind]()


class Router:
    HANDLERS = {"fetch": Fetch, "wait": Wait}

    def route(self, kind):
        self.HANDLERS[kind]().run()

    def route_get(self, kind):
        self.HANDLERS.get(kind)().run()


@app.task
def class_table(kind):
    Router().route(kind)


@app.task
def class_table_get(kind):
    Router().route_get(kind)
""",
        },
    )
    assert len(advice.tasks) == 5
    for task in advice.tasks:
        assert {e.kind for e in task.evidence} == {"net_io", "sleep"}, task


def test_super_calls_reach_the_next_class_in_the_mro(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
import requests
from django.db import models


class Doc(models.Model):
    def save(self, *args, **kwargs):
        self.title = self.title.strip()
        super().save(*args, **kwargs)


class Fetcher:
    def run(self):
        requests.get("http://example.com")


class Logged(Fetcher):
    def run(self):
        super(Logged, self).run()


@app.task
def store():
    Doc(title=" x ").save()


@app.task
def fetch():
    Logged().run()
""",
        },
    )
    found = kinds(advice)
    assert "db_io" in found["store"], found
    assert found["fetch"] == {"net_io"}
