"""Types of values: what a receiver is, so that a call on it reaches its knowledge.

Clients built locally, at module level or per task; instance attributes typed by
assignment or annotation; return types of project functions (annotated, or inferred
from ``return X(...)``); factories that return a function; attribute chains of any
depth on library objects.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import APP, advise, advise_files, task_module

from celery_poolkit.advisor.knowledge import Knowledge
from celery_poolkit.model import Call, Effect, Pool, TaskInfo


def _one(tmp_path: Path, body: str, extra: dict[str, str] | None = None) -> TaskInfo:
    files = {"proj/__init__.py": "", "proj/tasks.py": APP + body, **(extra or {})}
    advice = advise_files(tmp_path, files)
    (task,) = advice.tasks
    return task


OPENAI_CASES = {
    "local": """
from openai import OpenAI

@app.task
def ask(prompt):
    client = OpenAI()
    return client.chat.completions.create(model="m", messages=[prompt])
""",
    "module-level": """
from openai import OpenAI

client = OpenAI(api_key="k")

@app.task
def ask(prompt):
    return client.chat.completions.create(model="m", messages=[prompt])
""",
    "per task, inline": """
import openai

@app.task
def ask(prompt):
    return openai.OpenAI().chat.completions.create(model="m", messages=[prompt])
""",
    "embeddings": """
from openai import OpenAI

client = OpenAI()

@app.task
def embed(text):
    return client.embeddings.create(model="m", input=text).data[0].embedding
""",
    "anthropic messages": """
import anthropic

@app.task
def ask(prompt):
    client = anthropic.Anthropic()
    return client.messages.create(model="m", max_tokens=10, messages=[prompt])
""",
    "attribute of self": """
from openai import OpenAI

class Assistant:
    def __init__(self):
        self.client = OpenAI()

    def ask(self, prompt):
        return self.client.chat.completions.create(model="m", messages=[prompt])

@app.task
def ask(prompt):
    return Assistant().ask(prompt)
""",
}


@pytest.mark.parametrize("case", sorted(OPENAI_CASES))
def test_llm_clients_are_network_io_at_any_depth(tmp_path: Path, case: str) -> None:
    advice = advise(task_module(tmp_path, OPENAI_CASES[case]))
    (task,) = advice.tasks
    assert Effect.NET_IO in task.effects, task.evidence
    (queue,) = advice.queues
    assert not (queue.pool is Pool.PREFORK and queue.concurrency <= 2), queue


@pytest.mark.parametrize(
    ("call", "row"),
    [
        ('boto3.client("s3").put_object(Bucket="b", Key=key)', "botocore.client.BaseClient"),
        ('stripe.Customer.create(email="x@example.com")', "stripe.Customer.create"),
    ],
)
def test_library_chains_boto3_and_stripe(tmp_path: Path, call: str, row: str) -> None:
    task = _one(tmp_path, f"import boto3\nimport stripe\n\n@app.task\ndef bill(key):\n    {call}\n")
    (evidence,) = task.evidence
    assert evidence.kind == "net_io"
    assert evidence.call.startswith(row), evidence


def test_annotated_instance_attribute(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
import requests

class Context:
    def fetch(self):
        return requests.get("http://example.com")

class Query:
    _ctx: Context

    def __init__(self, ctx):
        self._ctx = ctx

    def run(self):
        return self._ctx.fetch()

class Other:
    def __init__(self, ctx: Context):
        self.ctx: Context = ctx

    def run(self):
        return self.ctx.fetch()

class Third:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def run(self):
        return self.ctx.fetch()

@app.task
def go(ctx):
    Query(ctx).run()

@app.task
def go2(ctx):
    Other(ctx).run()

@app.task
def go3(ctx):
    Third(ctx).run()
""",
        },
    )
    assert len(advice.tasks) == 3
    for t in advice.tasks:
        assert Effect.NET_IO in t.effects, (t.name, t.evidence)


def test_return_types_of_project_functions(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/clients.py": """
from slack_sdk import WebClient
import requests

class Api:
    def call(self):
        return requests.post("http://example.com")

def make_api() -> "Api":
    ...

def make_session():
    return requests.Session()

def make_slack() -> WebClient:
    token = "x"
    return build(token)
""",
            "proj/tasks.py": APP
            + """
from proj.clients import make_api, make_session, make_slack

@app.task
def annotated():
    make_api().call()

@app.task
def inferred():
    session = make_session()
    session.get("http://example.com")

@app.task
def library_annotation():
    make_slack().chat_postMessage(channel="c", text="t")
""",
        },
    )
    for t in advice.tasks:
        assert Effect.NET_IO in t.effects, (t.name, t.evidence)


def test_factory_returning_a_function(tmp_path: Path) -> None:
    task = _one(
        tmp_path,
        """
import requests

def get_request_function(kind):
    if kind == "get":
        return requests.get
    return requests.request

@app.task
def call(url):
    fn = get_request_function("get")
    fn("GET", url)
""",
    )
    assert Effect.NET_IO in task.effects, task.evidence


def test_factory_returning_a_class(tmp_path: Path) -> None:
    task = _one(
        tmp_path,
        """
import requests

class Sender:
    def send(self):
        requests.post("http://example.com")

def sender_class():
    return Sender

@app.task
def send():
    cls = sender_class()
    cls().send()
""",
    )
    assert Effect.NET_IO in task.effects, task.evidence


def test_knowledge_deep_rows_cover_any_depth_and_shallow_rows_one_level() -> None:
    deep = Call("sdk.Client.**", Effect.NET_IO)
    shallow = Call("orm.Model.*", Effect.DB_IO)
    manager = Call("orm.Model.objects.*", Effect.DB_IO)
    knowledge = Knowledge([deep, shallow, manager])
    assert knowledge.lookup_below("sdk.Client", "chat.completions.create") is deep
    assert knowledge.lookup_below("sdk.Client", "a.b.c.d.e") is deep
    assert knowledge.lookup_below("orm.Model", "objects.get") is manager
    assert knowledge.lookup_below("orm.Model", "field.save") is None  # a field is no Model
    assert knowledge.lookup("sdk.Client.send") is deep
    assert knowledge.lookup("orm.Model.save") is shallow


def test_loop_over_a_function_annotated_to_return_items(tmp_path: Path) -> None:
    task = _one(
        tmp_path,
        """
from collections.abc import Iterator
from typing import List

import requests


class Connector:
    def search(self, query):
        requests.get("http://example.com", params={"q": query})


def get_connectors() -> Iterator[Connector]:
    yield from load()


def all_connectors() -> "List[Connector]":
    return load()


@app.task
def search(query):
    for connector in get_connectors():
        connector.search(query)
    for other in all_connectors():
        other.search(query)
""",
    )
    assert Effect.NET_IO in task.effects, task.evidence


def test_items_of_an_annotated_container_parameter(tmp_path: Path) -> None:
    """``for c in connectors`` with ``connectors: list[Connector]``, and ``for url, c in
    pairs`` with ``pairs: list[tuple[str, Connector]]``: each item is a Connector, so the
    call on it dispatches to every override; rebinding the name forgets the annotation."""
    body = """
import requests

class Connector:
    def fetch(self, url):
        raise NotImplementedError

class HttpConnector(Connector):
    def fetch(self, url):
        return requests.get(url)

def run_all(connectors: list[Connector]):
    for connector in connectors:
        connector.fetch("u")

def run_pairs(pairs: "list[tuple[str, Connector]]"):
    for url, connector in pairs:
        connector.fetch(url)

def rebound(connectors: list[Connector]):
    connectors = load()
    for connector in connectors:
        connector.fetch("u")

@app.task
def one():
    run_all([HttpConnector()])

@app.task
def two():
    run_pairs([])

@app.task
def three():
    rebound([])
"""
    advice = advise_files(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": APP + body})
    effects = {t.name.rpartition(".")[2]: [e.value for e in t.effects] for t in advice.tasks}
    assert effects["one"] == ["net_io"]
    assert effects["two"] == ["net_io"]
    assert effects["three"] == []


QUERIED_MODELS = """
import hashlib
from django.db import models
from invenio_files_rest.models import FileInstance


class Photo(models.Model):
    def fingerprint(self):
        with open(self.path, "rb") as f:
            return hashlib.file_digest(f, "sha256")


@app.task
def fingerprint_photos():
    for photo in Photo.objects.filter(done=False):
        photo.fingerprint()


@app.task
def verify_files():
    files = FileInstance.query.filter(FileInstance.last_check.is_(None))
    for f in files:
        f.verify_checksum(throws=False)


@app.task
def list_photos():
    for photo in Photo.objects.filter(done=False):
        print(photo.path)
"""


def test_the_items_of_a_query_on_a_model_are_its_instances(tmp_path: Path) -> None:
    """``for p in Photo.objects.filter()`` / ``for f in File.query.filter()``: a query on
    a model class (the project's or a library's) yields instances of it, so per-row
    methods reach their work; a loop that only reads fields does nothing more."""
    advice = advise(task_module(tmp_path, QUERIED_MODELS))
    tasks = {t.name.rpartition(".")[2]: t for t in advice.tasks}
    assert Effect.CPU_RELEASES_GIL in tasks["fingerprint_photos"].effects
    (ev,) = [e for e in tasks["verify_files"].evidence if e.kind == "cpu"]
    assert ev.call == "invenio_files_rest.models.FileInstance.verify_checksum"
    assert set(tasks["list_photos"].effects) == {Effect.DB_IO}
