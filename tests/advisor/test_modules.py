"""Modules and decorators: how names reach their definitions across files.

Star imports, re-exports through ``__init__``, folders without ``__init__.py`` (two
``utils.py`` must stay two modules), tasks with the same qualified name in two places,
tasks under ``migrations/``, a task decorator held in a variable, and Celery's canvas
called directly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import APP, advise_files, kinds

from celery_poolkit.model import Effect

HELPERS = """
import requests
import time

def fetch():
    requests.get("http://example.com")

def wait():
    time.sleep(1)
"""


def _effects(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    return kinds(advise_files(tmp_path, files), short=False)


def test_star_import_of_a_project_module(tmp_path: Path) -> None:
    found = _effects(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/helpers.py": HELPERS,
            "proj/tasks.py": APP
            + "from proj.helpers import *\n\n@app.task\ndef t():\n    fetch()\n",
        },
    )
    assert found == {"proj.tasks.t": {"net_io"}}


def test_re_export_through_init(tmp_path: Path) -> None:
    found = _effects(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/util/__init__.py": "from .net import *\nfrom .clock import wait as pause\n",
            "proj/util/net.py": HELPERS,
            "proj/util/clock.py": HELPERS,
            "proj/tasks.py": APP + "from proj import util\nfrom proj.util import pause\n\n"
            "@app.task\ndef t():\n    util.fetch()\n    pause()\n",
        },
    )
    assert found == {"proj.tasks.t": {"net_io", "sleep"}}


def test_two_script_folders_keep_their_own_modules(tmp_path: Path) -> None:
    # No __init__.py anywhere: each folder's tasks.py and utils.py were one module named
    # "tasks" and one named "utils", so one folder's tasks were lost.
    task = APP + "from utils import work\n\n@app.task\ndef run():\n    work()\n"
    found = _effects(
        tmp_path,
        {
            "fetcher/tasks.py": task,
            "fetcher/utils.py": HELPERS + "\ndef work():\n    fetch()\n",
            "sleeper/tasks.py": task,
            "sleeper/utils.py": HELPERS + "\ndef work():\n    wait()\n",
        },
    )
    assert set(found) == {"fetcher.tasks.run", "sleeper.tasks.run"}


def test_same_qualified_name_in_two_modules_reports_both(tmp_path: Path) -> None:
    body = APP + "\n@app.task(name='sync')\ndef sync():\n    pass\n"
    advice = advise_files(
        tmp_path,
        {"a/__init__.py": "", "a/tasks.py": body, "b/__init__.py": "", "b/tasks.py": body},
    )
    assert sorted(t.location.path for t in advice.tasks) == ["a/tasks.py", "b/tasks.py"]


def test_tasks_under_migrations_are_tasks(tmp_path: Path) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP,
            "proj/migrations/__init__.py": "",
            "proj/migrations/0001_initial.py": "from django.db import migrations\n",
            "proj/migrations/tasks/__init__.py": "",
            "proj/migrations/tasks/backfill.py": "from proj.tasks import app\n\n"
            "@app.task\ndef backfill():\n    pass\n",
        },
    )
    assert [t.name for t in advice.tasks] == ["proj.migrations.tasks.backfill.backfill"]
    assert advice.files == 5  # the numbered migration is not read


@pytest.mark.parametrize(
    "decorator",
    [
        "retry_task = shared_task(bind=True, max_retries=3)",
        "retry_task = app.task(bind=True, queue='io')",
        "retry_task = functools.partial(shared_task, bind=True)",
    ],
)
def test_task_decorator_held_in_a_variable(tmp_path: Path, decorator: str) -> None:
    found = _effects(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP
            + "import functools\nimport requests\nfrom celery import shared_task\n\n"
            + decorator
            + "\n\n@retry_task\ndef t(self):\n    requests.get('http://example.com')\n"
            + "    self.retry(countdown=1)\n",
        },
    )
    # bind=True held in the variable makes self the task: self.retry() republishes.
    assert found == {"proj.tasks.t": {"net_io", "broker_io"}}


@pytest.mark.parametrize(
    "call",
    [
        "chord([a.s(), a.s()])(b.s())",
        "group(a.s(), a.s())()",
        "chain(a.s(), b.s()).apply_async()",
        "canvas.chain(a.s(), b.s())()",
    ],
)
def test_canvas_called_directly_is_broker_io(tmp_path: Path, call: str) -> None:
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": APP + "from celery import chain, chord, group, canvas\n\n"
            "@app.task\ndef a():\n    pass\n\n@app.task\ndef b():\n    pass\n\n"
            f"@app.task\ndef start():\n    {call}\n",
        },
    )
    start = next(t for t in advice.tasks if t.name == "proj.tasks.start")
    assert Effect.BROKER_IO in start.effects, start.evidence


FALLBACK_BASE = {
    "proj/__init__.py": "",
    "proj/parsers/__init__.py": "",
    "proj/parsers/base.py": (
        "class BaseParser:\n    def parse_file(self, path):\n        raise NotImplementedError\n"
    ),
    "proj/parsers/pdf.py": (
        "from pypdf import PdfReader\n"
        "from proj.parsers.base import BaseParser\n\n"
        "class PDFParser(BaseParser):\n"
        "    def parse_file(self, path):\n"
        "        return [p.extract_text() for p in PdfReader(path).pages]\n"
    ),
    "proj/parsers/text.py": (
        "try:\n    from proj.parsers.base import BaseParser\n"
        "except ModuleNotFoundError:\n    from base import BaseParser\n\n"
        "class TextParser(BaseParser):\n"
        "    def parse_file(self, path):\n        return open(path).read()\n"
    ),
    "proj/tasks.py": APP
    + (
        "from typing import Any\n\n"
        "def to_text(parser: Any, path):\n    return parser.parse_file(path)\n\n"
        "@app.task\ndef parse(parser, path):\n    return to_text(parser, path)\n"
    ),
}


def test_an_import_in_an_except_handler_does_not_replace_the_try_body_s(tmp_path: Path) -> None:
    """``try: from proj.parsers.base import BaseParser`` / ``except ModuleNotFoundError:
    from base import BaseParser``: the class's base stays the project's, so the method
    called on a parameter (``parser: Any``) is one hierarchy's, and reaches the PDF
    parser's CPU work. With the fallback's binding winning, TextParser had an unknown
    base, two roots defined ``parse_file``, and the call reached nothing."""
    found = _effects(tmp_path, FALLBACK_BASE)
    assert "cpu" in found["proj.tasks.parse"]


def test_without_a_single_hierarchy_a_parameter_s_method_reaches_nothing(tmp_path: Path) -> None:
    files = dict(FALLBACK_BASE)
    files["proj/parsers/text.py"] = (
        "class TextParser:\n    def parse_file(self, path):\n        return open(path).read()\n"
    )
    assert "cpu" not in _effects(tmp_path, files)["proj.tasks.parse"]
