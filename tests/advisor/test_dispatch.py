"""Dynamic dispatch: calls through tables of callables and ``getattr``.

When every candidate is statically known, the call's effects are the union of theirs,
and the evidence says so; when any is not, the call stays unknown.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import APP, advise_files, kinds

from celery_poolkit.model import TaskInfo

HANDLERS = """
import time

import requests


def on_create(data):
    requests.post("http://example.com", json=data)


def on_delete(data):
    time.sleep(1)


def on_other(data):
    pass


class Stream:
    def populate(self, user):
        requests.get("http://example.com")


HANDLERS = {"create": on_create, "delete": on_delete}
PIPELINE = [on_create, on_other]
STREAMS = {"home": Stream(), "local": Stream()}
MIXED = {"create": on_create, "lambda": lambda data: None}
"""


def _task(tmp_path: Path, body: str) -> TaskInfo:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/handlers.py": HANDLERS,
            "proj/tasks.py": APP
            + "from proj import handlers\nfrom proj.handlers import HANDLERS, PIPELINE\n"
            + f"\n\n@app.task\ndef run(kind, data):\n{body}\n",
        },
    )
    (task,) = advice.tasks
    return task


@pytest.mark.parametrize(
    ("body", "kinds", "table"),
    [
        ("    HANDLERS[kind](data)", {"net_io", "sleep"}, "proj.handlers.HANDLERS"),
        ("    handler = HANDLERS[kind]\n    handler(data)", {"net_io", "sleep"}, "HANDLERS"),
        ("    handler = HANDLERS.get(kind)\n    handler(data)", {"net_io", "sleep"}, "HANDLERS"),
        ("    for step in PIPELINE:\n        step(data)", {"net_io"}, "PIPELINE"),
        (
            "    for name, fn in handlers.HANDLERS.items():\n        fn(data)",
            {"net_io", "sleep"},
            "HANDLERS",
        ),
        ("    handlers.STREAMS[kind].populate(data)", {"net_io"}, "STREAMS"),
        (
            "    for stream in handlers.STREAMS.values():\n        stream.populate(data)",
            {"net_io"},
            "STREAMS",
        ),
        ('    getattr(handlers, f"on_{kind}")(data)', {"net_io", "sleep"}, "getattr"),
        # A constant name is no dispatch: the attribute itself, without a union note.
        ('    getattr(handlers, "on_delete")(data)', {"sleep"}, ""),
    ],
)
def test_every_known_candidate_adds_its_effects(
    tmp_path: Path, body: str, kinds: set[str], table: str
) -> None:
    task = _task(tmp_path, body)
    assert {e.kind for e in task.evidence} == kinds, task.evidence
    for ev in task.evidence:
        if not table:
            assert not ev.note.startswith("dynamic dispatch"), ev
            continue
        assert ev.note.startswith("dynamic dispatch: one of "), ev
        assert "candidate" in ev.note, ev
        assert table in ev.note, ev


def test_getattr_on_self_picks_the_classes_methods(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
import time

class Importer:
    def handle_book(self):
        time.sleep(1)

    def run(self, kind):
        return getattr(self, f"handle_{kind}")()

@app.task
def run(kind):
    Importer().run(kind)
""",
        },
    )
    (task,) = advice.tasks
    assert [e.kind for e in task.evidence] == ["sleep"], task.evidence


@pytest.mark.parametrize(
    "body",
    [
        "    handlers.MIXED[kind](data)",  # a lambda: not statically known
        "    getattr(handlers, kind)(data)",  # any name at all
        "    getattr(data, f'on_{kind}')(data)",  # an object of unknown class
        "    table = {}\n    table[kind](data)",  # a local table
        "    import os\n    os.environ[kind](data)",  # not a table of the project
    ],
)
def test_dispatch_that_is_not_static_stays_unknown(tmp_path: Path, body: str) -> None:
    task = _task(tmp_path, body)
    assert task.kind == "unknown", task.evidence
    assert task.evidence == ()


def test_dynamic_imports_are_the_union_of_matching_modules_and_settings(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/settings.py": 'NOTIFIER = "proj.backends.mail.Notifier"\n',
            "proj/backends/__init__.py": "",
            "proj/backends/mail.py": "import requests\n\nclass Notifier:\n"
            "    def send(self):\n        requests.post('http://example.com')\n\n"
            "def run():\n    Notifier().send()\n",
            "proj/backends/hook.py": "import time\n\ndef run():\n    time.sleep(1)\n",
            "proj/backends/base.py": "class Base:\n    pass\n",
            "proj/tasks.py": APP + "from importlib import import_module\n"
            "from django.conf import settings\n"
            "from django.utils.module_loading import import_string\n\n"
            "@app.task\ndef by_module(name):\n"
            "    backend = import_module('proj.backends.' + name)\n    backend.run()\n\n"
            "@app.task\ndef by_fstring(name):\n"
            "    import_module(f'proj.backends.{name}').run()\n\n"
            "@app.task\ndef by_setting():\n"
            "    import_string(settings.NOTIFIER)().send()\n",
        },
    )
    found = kinds(advice)
    assert found["by_module"] == {"net_io", "sleep"}
    assert found["by_fstring"] == {"net_io", "sleep"}
    assert found["by_setting"] == {"net_io"}
    by_module = next(t for t in advice.tasks if t.name.endswith("by_module"))
    assert any("one of 2 candidates" in e.note for e in by_module.evidence), by_module.evidence


def test_getattr_with_a_constant_name_is_the_attribute(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + """
import requests
from openai import OpenAI


class Client:
    def __init__(self):
        self.session = requests.Session()

    def send(self):
        getattr(self.session, "post")("http://example.com")


@app.task
def by_module():
    getattr(requests, "get")("http://example.com")


@app.task
def by_instance():
    getattr(Client(), "send")()


@app.task
def in_a_chain():
    getattr(OpenAI(), "chat").completions.create(model="m", messages=[])
""",
        },
    )
    assert kinds(advice) == {n: {"net_io"} for n in ("by_module", "by_instance", "in_a_chain")}
