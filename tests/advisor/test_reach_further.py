"""Resolution gaps found on the dev set, each closed by a general mechanism.

- a factory that returns one item of a table (``return handlers.get(kind)``): calling
  its result calls one of the table's items;
- a generic base class (``class Sql(Connector[Engine])``) is its class, so its
  overrides are found;
- a context manager's annotation (``-> ContextManager[Session]``, or ``@contextmanager``
  with ``-> Iterator[Session]``) types what ``with ... as`` binds.

Each has a must-fire case and a must-not-fire neighbour.
"""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import APP, advise_files, kinds


def _kinds(tmp_path: Path, body: str, extra: dict[str, str] | None = None) -> dict[str, set[str]]:
    files = {"proj/__init__.py": "", "proj/tasks.py": APP + body, **(extra or {})}
    return kinds(advise_files(tmp_path, files))


PICKERS = """
import time
from typing import Callable, Optional

import requests


def _mail(to):
    requests.post("http://example.com/mail", data=to)


def _wait(to):
    time.sleep(1)


def _nothing(to):
    pass


def pick_local(kind) -> Optional[Callable]:
    handler = {"mail": _mail, "wait": _wait}
    return handler.get(kind)


QUIET = {"a": _nothing, "b": _nothing}


def pick_module(kind):
    fn = QUIET[kind]
    return fn
"""


def test_a_factory_returning_a_table_item_calls_one_of_the_items(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.pickers import pick_local, pick_module

@app.task
def annotated(kind, to):
    dispatcher: Optional[Callable] = pick_local(kind)
    dispatcher(to)

@app.task
def plain(kind, to):
    pick_local(kind)(to)

@app.task
def quiet(kind, to):
    pick_module(kind)(to)
""",
        {"proj/pickers.py": PICKERS},
    )
    assert tasks["annotated"] == {"net_io", "sleep"}
    assert tasks["plain"] == {"net_io", "sleep"}
    # Must not fire: the table's items do nothing, so neither does the call.
    assert tasks["quiet"] == set()


CONNECTORS = """
from typing import Generic, TypeVar

import requests

T = TypeVar("T")


class Connector(Generic[T]):
    def fetch(self):
        raise NotImplementedError


class HttpConnector(Connector[dict]):
    def fetch(self):
        requests.get("http://example.com")


class Local(Connector):
    def fetch(self):
        return {}


class Unrelated:
    def fetch(self):
        requests.get("http://example.com")
"""


def test_a_generic_base_is_its_class(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.connectors import Connector, Local

def run(connector: Connector):
    connector.fetch()

@app.task
def any_connector(connector):
    run(connector)

@app.task
def local_only():
    Local().fetch()
""",
        {"proj/connectors.py": CONNECTORS},
    )
    assert tasks["any_connector"] == {"net_io"}
    # Must not fire: the exact class does nothing; an unrelated class's method is not
    # an override.
    assert tasks["local_only"] == set()


SESSIONS = """
from contextlib import contextmanager
from typing import ContextManager, Iterator

from celery import Task
from sqlalchemy.orm import Session

import requests


class DbTask(Task):
    def get_session(self) -> ContextManager[Session]:
        return self._maker()


@contextmanager
def session_scope() -> Iterator[Session]:
    yield make_session()


@contextmanager
def http() -> Iterator[requests.Session]:
    yield requests.Session()


def sessions() -> Iterator[Session]:
    yield make_session()
"""


def test_a_context_manager_annotation_types_the_with_target(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.sessions import DbTask, http, session_scope, sessions

@app.task(base=DbTask, bind=True)
def bound(self):
    with self.get_session() as db:
        db.execute("DELETE FROM t")

@app.task
def scoped():
    with session_scope() as db:
        db.execute("DELETE FROM t")

@app.task
def as_http():
    with http() as s:
        s.get("http://example.com")

@app.task
def generator_is_not_a_context(db):
    # Must not fire: a plain generator's result is an iterator, not a Session.
    sessions().execute("x")
""",
        {"proj/sessions.py": SESSIONS},
    )
    assert "db_io" in tasks["bound"]
    assert "db_io" in tasks["scoped"]
    assert tasks["as_http"] == {"net_io"}
    assert tasks["generator_is_not_a_context"] == set()


def test_star_imports_and_re_exports_carry_library_names(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.listed import *
from proj.common import *
from proj import post

@app.task
def starred_class(url):
    Session().get(url)

@app.task
def starred_module(url):
    requests.get(url)

@app.task
def re_exported(url):
    post(url)

@app.task
def private_is_not_exported(url):
    _get(url)

@app.task
def not_in_all(url):
    hidden(url)
""",
        {
            "proj/__init__.py": "from requests import post\n",
            "proj/common.py": "import requests\nfrom requests import Session, get as _get\n",
            "proj/listed.py": "from requests import get as hidden\n__all__ = ['shown']\n",
        },
    )
    assert tasks["starred_class"] == {"net_io"}
    assert tasks["starred_module"] == {"net_io"}
    assert tasks["re_exported"] == {"net_io"}
    # Must not fire: ``import *`` skips private names and names ``__all__`` leaves out.
    assert tasks["private_is_not_exported"] == set()
    assert tasks["not_in_all"] == set()


MODELS = """
import requests
from django.db import models


class User(models.Model):
    def send_message(self, text):
        requests.post("http://example.com/mail", data=text)


class ElectionManager(models.Manager):
    pass


class Election(models.Model):
    admin = models.ForeignKey(User, on_delete=models.CASCADE)
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE)
    owner = models.ForeignKey("accounts.Owner", on_delete=models.CASCADE)
    objects = ElectionManager()

    def send_message(self, text):
        pass
"""


def test_a_relation_field_is_the_model_it_names(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.models import Election

@app.task
def notify_admin(pk):
    Election.objects.get(id=pk).admin.send_message("hi")

@app.task
def notify_parent(pk):
    election = Election.objects.get(id=pk)
    election.parent.send_message("hi")

@app.task
def notify_owner(pk):
    Election.objects.get(id=pk).owner.send_message("hi")
""",
        {"proj/models.py": MODELS},
    )
    # Through a custom manager's get() (the model it is on), then the foreign key.
    assert {"db_io", "net_io"} <= tasks["notify_admin"]
    # Must not fire: "self" is an Election, whose send_message does nothing; a model
    # named by a string of another app is not guessed.
    assert "db_io" in tasks["notify_parent"]
    assert "net_io" not in tasks["notify_parent"]
    assert "net_io" not in tasks["notify_owner"]


ENGINES = """
from enum import Enum
from functools import cached_property
from typing import Optional

import requests


def remote(text):
    requests.post("http://example.com/translate", data=text)


def local(text):
    return text


class Engine(Enum):
    REMOTE = "remote"
    LOCAL = "local"

    @property
    def service(self):
        match self:
            case Engine.REMOTE:
                return remote
            case Engine.LOCAL:
                return local

    def plain(self):
        return remote


class Quiet:
    @cached_property
    def service(self):
        return local


class Runner:
    def __init__(self, engine: Engine | None = None, other: Optional["Quiet"] = None):
        self.engine = engine if engine is not None else None
        self.other = other

    def run(self, text):
        return self.engine.service(text)

    def run_other(self, text):
        return self.other.service(text)
"""


def test_a_property_returning_a_function_and_optional_parameters(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.engines import Engine, Quiet, Runner

@app.task
def through_attribute(text):
    Runner().run(text)

@app.task
def through_parameter(text, engine: Engine):
    engine.service(text)

@app.task
def quiet(text):
    Quiet().service(text)
    Runner().run_other(text)

@app.task
def plain_method_is_not_called_twice(text, engine: Engine):
    engine.plain()
""",
        {"proj/engines.py": ENGINES},
    )
    assert tasks["through_attribute"] == {"net_io"}
    assert tasks["through_parameter"] == {"net_io"}
    # Must not fire: the property returns a function that does nothing; a plain method
    # returning a function is called, not what it returns.
    assert tasks["quiet"] == set()
    assert tasks["plain_method_is_not_called_twice"] == set()


def test_a_folder_without_init_inside_a_package_is_a_namespace_package(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.tools.remote import fetch
import loose

@app.task
def through_namespace(url):
    fetch(url)

@app.task
def script_folder(url):
    loose.fetch(url)
""",
        {
            # proj/tools has no __init__.py: importable as proj.tools.remote (PEP 420).
            "proj/tools/remote.py": "import requests\n\ndef fetch(url):\n    requests.get(url)\n",
            # A loose top-level folder starts its own module path, as before.
            "scripts/loose.py": "import time\n\ndef fetch(url):\n    time.sleep(1)\n",
        },
    )
    assert tasks["through_namespace"] == {"net_io"}
    assert tasks["script_folder"] == {"sleep"}


RUNNER = """
import logging
import shlex
import subprocess

log = logging.getLogger(__name__)


def run_command(cmd, shell=False):
    popen = subprocess.Popen(cmd if shell else shlex.split(cmd), stdout=subprocess.PIPE)
    popen.wait()
"""


def test_a_command_string_handed_to_a_wrapper_names_its_program(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.runner import log, run_command

@app.task
def built_up(host):
    cmd = "naabu -json -exclude-cdn"
    cmd += f" -host {host}"
    run_command(cmd)

@app.task
def formatted(host):
    run_command(f"nmap -sV {host}")

@app.task
def concatenated(host):
    run_command("nmap -sV " + host, shell=True)

@app.task
def messages(host):
    log.info("nmap failed for %s", host)
    log.info(f"curl {host}")
""",
        {"proj/runner.py": RUNNER},
    )
    assert {"net_io", "subprocess"} <= tasks["built_up"]
    assert {"net_io", "subprocess"} <= tasks["formatted"]
    assert {"net_io", "subprocess"} <= tasks["concatenated"]
    # Must not fire: a message starting with a program's name, without an option.
    assert "net_io" not in tasks["messages"]


def test_a_loop_over_a_few_constants_is_not_per_item_work(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from typing import Optional

from bs4 import BeautifulSoup

def favicon(soup: Optional[BeautifulSoup]):
    selectors = ['link[rel="icon"]', 'link[rel="shortcut icon"]']
    for selector in selectors:
        if soup.select_one(selector):
            return selector

@app.task
def fixed_tries(page):
    favicon(BeautifulSoup(page, "html.parser"))

@app.task
def per_item(pages, soup: Optional[BeautifulSoup]):
    for selector in pages:
        soup.select_one(selector)
""",
    )
    assert "cpu" not in tasks["fixed_tries"]
    # Must still fire: a loop over data does the search once per item.
    assert "cpu" in tasks["per_item"]


def test_a_variable_named_as_a_command_names_its_program(tmp_path: Path) -> None:
    tasks = _kinds(
        tmp_path,
        """
from proj.runner import log, run_command

def get_nmap_cmd(host):
    return "nmap " + host

@app.task
def lookup(host):
    cmd = f"geoiplookup {host}"
    run_command(cmd)

@app.task
def helper_built(host):
    nmap_cmd = get_nmap_cmd(host)
    run_command(nmap_cmd)

@app.task
def only_logged(host):
    nmap_cmd = get_nmap_cmd(host)
    log.info("would run %s", nmap_cmd)

@app.task
def not_a_command(host):
    nmap_result = get_nmap_cmd(host)
    run_command(nmap_result)
""",
        {"proj/runner.py": RUNNER},
    )
    assert "net_io" in tasks["lookup"]
    assert "net_io" in tasks["helper_built"]
    # Must not fire: a command only logged, or a variable not named as a command.
    assert "net_io" not in tasks["only_logged"]
    assert "net_io" not in tasks["not_a_command"]


HOLDERS = """
from dataclasses import dataclass

import boto3
import requests


@dataclass
class Client:
    conn: requests.Session


class Storage:
    def __init__(self):
        self.bucket = boto3.client("s3")


class OtherStorage:
    def __init__(self, region):
        self.bucket = requests.Session()


class Index:
    def __init__(self, client, store):
        self._client = client
        self._store = store

    def add(self, doc):
        self._client.conn.post("http://example.com/index", json=doc)

    def local(self, doc):
        self._client.conn.prepare_request(doc)

    def upload(self, doc):
        self._store.bucket.put_object(Body=doc)
"""


def test_an_attribute_every_class_types_alike_names_its_library(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/holders.py": HOLDERS,
            "proj/tasks.py": APP
            + """
from proj.holders import Index

@app.task
def add(client, store, doc):
    Index(client, store).add(doc)

@app.task
def local(client, store, doc):
    Index(client, store).local(doc)

@app.task
def upload(client, store, doc):
    Index(client, store).upload(doc)
""",
        },
    )
    tasks = kinds(advice)
    assert tasks["add"] == {"net_io"}
    (ev,) = [e for t in advice.tasks if t.name.endswith(".add") for e in t.evidence]
    assert ev.note.startswith("inferred: every project class typing '.conn'"), ev
    # Must not fire: a call the library's table gives no effect; an attribute name two
    # classes type differently says nothing.
    assert tasks["local"] == set()
    assert tasks["upload"] == set()
