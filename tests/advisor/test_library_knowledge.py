"""Library tables that reach further, and effects inferred where no table speaks."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from advisor_helpers import APP, advise, task_module, write

from celery_poolkit.advisor import inferred
from celery_poolkit.advisor.config import AdvisorConfig
from celery_poolkit.advisor.engine import analyze
from celery_poolkit.model import Confidence, Effect, TaskInfo
from celery_poolkit.plugins import builtin_plugins


def _tasks(root: Path, cache_dir: Path | None = None) -> dict[str, TaskInfo]:
    advice = advise(root, cache_dir=cache_dir)
    return {t.name.rpartition(".")[2]: t for t in advice.tasks}


def _calls(task: TaskInfo, kind: str) -> list[str]:
    return [e.call for e in task.evidence if e.kind == kind]


FLASK = {
    "proj/__init__.py": "",
    "proj/ext.py": "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n",
    "proj/models.py": """
from proj.ext import db

class User(db.Model):
    def touch(self):
        db.session.commit()
""",
    "proj/tasks.py": APP
    + """
from proj.ext import db
from proj.models import User

@app.task
def deactivate(user_id):
    user = User.query.filter_by(id=user_id).first()
    db.session.add(user)
    db.session.commit()

@app.task
def stage_only(user):
    db.session.add(user)
""",
}


def test_flask_sqlalchemy_session_and_model_query_are_database_io(tmp_path: Path) -> None:
    tasks = _tasks(write(tmp_path, FLASK))
    assert _calls(tasks["deactivate"], "db_io") == ["flask_sqlalchemy.SQLAlchemy.session.commit"]
    assert tasks["stage_only"].kind == "unknown"  # add() only stages


TABLES = """
import influxdb
from elasticsearch_dsl import Document, Search
from jira import JIRA
from post_office import mail
import swapper
import petl

@app.task
def write_metrics(points):
    client = influxdb.InfluxDBClient(host="influx")
    client.write_points(points)

class Article(Document):
    pass

@app.task
def search(term):
    return Search(index="docs").execute()

@app.task
def reindex(pk):
    Article.get(id=pk).save()

@app.task
def file_ticket(summary):
    JIRA("https://jira.example.com").create_issue(project="OPS", summary=summary)

@app.task
def queue_mail(to):
    mail.send(to, "noreply@example.com", template="welcome")

@app.task
def swapped(pk):
    Org = swapper.load_model("accounts", "Organization")
    return Org.objects.get(pk=pk)

@app.task
def etl(path):
    table = petl.fromcsv(path)
    table.tocsv("out.csv")

@app.task
def lazy(path):
    return petl.fromcsv(path).convert("price", float)

@app.task
def append_rows(rows, path):
    petl.io.xlsx.appendxlsx(petl.fromdicts(rows), path)
"""


def test_the_new_tables_reach_through_clients_searches_and_models(tmp_path: Path) -> None:
    tasks = _tasks(task_module(tmp_path, TABLES))
    assert _calls(tasks["write_metrics"], "db_io") == ["influxdb.InfluxDBClient.write_points"]
    assert _calls(tasks["search"], "net_io") == ["elasticsearch_dsl.Search.execute"]
    assert _calls(tasks["reindex"], "net_io") == ["elasticsearch_dsl.Document.get"]
    assert tasks["file_ticket"].kind == "io"
    assert _calls(tasks["file_ticket"], "net_io")
    assert _calls(tasks["queue_mail"], "db_io") == ["post_office.mail.send"]
    assert tasks["queue_mail"].effects == (Effect.DB_IO,)  # writing rows, not SMTP
    assert _calls(tasks["swapped"], "db_io") == ["django.db.models.Model.objects.get"]
    # A sink pulls every row through the pipeline and serialises it: CPU work; a lazy
    # pipeline that nothing consumes is none.
    assert _calls(tasks["etl"], "cpu") == ["petl.util.base.Table.tocsv"]
    assert _calls(tasks["append_rows"], "cpu") == ["petl.io.xlsx.appendxlsx"]
    assert tasks["lazy"].kind == "unknown"


def test_send_mail_follows_the_configured_email_backend(tmp_path: Path) -> None:
    body = (
        "from django.core.mail import send_mail\n"
        "@app.task\ndef welcome(to):\n    send_mail('hi', 'body', None, [to])\n"
    )
    smtp = _tasks(task_module(tmp_path / "smtp", body))["welcome"]
    assert smtp.effects == (Effect.NET_IO,)
    root = task_module(tmp_path / "po", body)
    (root / "proj/settings.py").write_text(
        "import os\nEMAIL_BACKEND = os.environ.get('EMAIL_BACKEND', 'post_office.EmailBackend')\n"
    )
    # A test settings module with the locmem backend does not make mail free.
    (root / "proj/settings_ci.py").write_text(
        "EMAIL_BACKEND = 'django.core.mail.backends.locmem.EmailBackend'\n"
        "if DEBUG:\n    EMAIL_BACKEND = 'django.core.mail.backends.filebased.EmailBackend'\n"
    )
    queued = _tasks(root)["welcome"]
    assert queued.effects == (Effect.DB_IO,)
    (ev,) = queued.evidence
    assert ev.note.startswith("inferred from EMAIL_BACKEND = 'post_office.EmailBackend'")
    # Settings that disagree on an effect leave the default (SMTP) in place.
    (root / "proj/prod_settings.py").write_text(
        "EMAIL_BACKEND = 'django.core.mail.backends.smtp.EmailBackend'\n"
    )
    assert _tasks(root)["welcome"].effects == (Effect.NET_IO,)


COMMAND = {
    "proj/__init__.py": "",
    "proj/reports/__init__.py": "",
    "proj/reports/management/__init__.py": "",
    "proj/reports/management/commands/__init__.py": "",
    "proj/reports/management/commands/rebuild_totals.py": """
from django.core.management.base import BaseCommand
import requests

class Command(BaseCommand):
    def handle(self, *args, **options):
        requests.post("https://example.com/rebuild")
""",
    "proj/tasks.py": APP
    + """
from django.core.management import call_command

@app.task
def rebuild():
    call_command("rebuild_totals", verbosity=0)

@app.task
def cleanup():
    call_command("clearsessions")
""",
}


def test_call_command_follows_the_projects_command_to_its_handle(tmp_path: Path) -> None:
    tasks = _tasks(write(tmp_path, COMMAND))
    (ev,) = tasks["rebuild"].evidence
    assert (ev.kind, ev.call) == ("net_io", "requests.post")
    assert ev.via[-1].endswith("management.commands.rebuild_totals.Command.handle")
    (other,) = [e for e in tasks["cleanup"].evidence if e.kind == "db_io"]
    assert other.note.startswith("inferred: management command 'clearsessions'")


def test_a_session_reached_through_any_attribute_is_database_io_by_name(tmp_path: Path) -> None:
    body = """
@app.task(bind=True)
def purge(self, request):
    request.db.query("DELETE FROM t")

class Repo:
    def save(self):
        self.session.commit()

@app.task
def store():
    Repo().save()

@app.task
def not_a_session(request):
    request.db.keys()
"""
    tasks = _tasks(task_module(tmp_path, body))
    assert _calls(tasks["purge"], "db_io") == ["sqlalchemy.orm.Session.query"]
    assert _calls(tasks["store"], "db_io") == ["sqlalchemy.orm.Session.commit"]
    assert tasks["not_a_session"].kind == "unknown"


# --- libraries without a table -----------------------------------------------------------
def _install(site: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> None:
    """A package in a folder on sys.path: found like an installed one, never imported."""
    write(site, files)
    monkeypatch.syspath_prepend(str(site / "root"))


SDK = {
    "acmesdk/__init__.py": "from acmesdk.client import Client\n",
    "acmesdk/client.py": """
import requests

class Client:
    def send(self, payload):
        return self._post("/send", payload)

    def _post(self, path, payload):
        return requests.post("https://api.acme.test" + path, json=payload)

def checksum(data):
    return sum(data)
""",
}


def test_a_library_without_a_table_is_classified_from_its_installed_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path / "site", monkeypatch, SDK)
    body = """
import acmesdk
from acmesdk.client import checksum

@app.task
def notify(payload):
    acmesdk.Client().send(payload)

@app.task
def summed(data):
    return checksum(data)
"""
    cache = tmp_path / "cache"
    advice = advise(task_module(tmp_path / "p", body), cache_dir=cache)
    tasks = {t.name.rpartition(".")[2]: t for t in advice.tasks}
    (ev,) = tasks["notify"].evidence
    assert (ev.kind, ev.call) == ("net_io", "acmesdk.Client.send")
    assert ev.note == "inferred from acmesdk 0's source: reaches requests.post"
    assert tasks["summed"].kind == "unknown"
    # Inferred evidence never makes a confident pool.
    assert advice.queues[0].confidence is not Confidence.HIGH
    assert "acmesdk" not in sys.modules  # read, never imported
    # Stored as JSON per distribution and version, shared by every project.
    (stored,) = (cache / "libraries").glob("*.json")
    data = json.loads(stored.read_text())
    assert data["calls"]["acmesdk.Client.send"][0] == "net_io"


DATEKIT = {
    "datekit/__init__.py": "from datekit.core import parse, thumbnail\n",
    "datekit/core.py": """
from PIL import Image

def parse(text, rounds=4):
    total = 0
    for j in range(rounds):
        total = total * 31 + j
    return total

def thumbnail(path):
    return Image.open(path).resize((64, 64))
""",
}


def test_a_library_s_own_loops_do_not_make_it_cpu_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loop inside a library runs over what it is handed (one date string): only
    what its source reaches in a table (Pillow's resize) makes its calls CPU work."""
    _install(tmp_path / "site", monkeypatch, DATEKIT)
    body = """
from datekit import parse, thumbnail

@app.task
def when(text):
    return parse(text)

@app.task
def small(path):
    return thumbnail(path)
"""
    tasks = _tasks(task_module(tmp_path / "p", body), tmp_path / "cache")
    assert tasks["when"].kind == "unknown"
    (ev,) = [e for e in tasks["small"].evidence if e.kind == "cpu_releases_gil"]
    assert ev.note == "inferred from datekit 0's source: reaches PIL.Image.Image.resize"


def test_a_stored_result_is_reused_and_a_corrupt_one_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path / "site", monkeypatch, SDK)
    body = "import acmesdk\n@app.task\ndef notify(p):\n    acmesdk.Client().send(p)\n"
    cache = tmp_path / "cache"
    folder = cache / "libraries"
    folder.mkdir(parents=True)
    (folder / f"acmesdk-0-f{inferred.FORMAT}.json").write_text(
        json.dumps({"calls": {"acmesdk.Client.send": ["db_io", "safe_after_patch", "stored"]}})
    )
    (ev,) = _tasks(task_module(tmp_path / "a", body), cache)["notify"].evidence
    assert (ev.kind, ev.note) == ("db_io", "inferred stored")  # the stored answer, not a re-read
    (folder / f"acmesdk-0-f{inferred.FORMAT}.json").write_text("{not json")
    (ev,) = _tasks(task_module(tmp_path / "b", body), cache)["notify"].evidence
    assert ev.kind == "net_io"


def test_a_library_that_is_not_installed_is_judged_by_its_locked_dependencies(
    tmp_path: Path,
) -> None:
    root = task_module(
        tmp_path,
        "import weathersdk\nimport ledgerkit\nimport djangoaddon\n"
        "@app.task\ndef fetch():\n    weathersdk.today()\n"
        "@app.task\ndef book():\n    ledgerkit.post_entry()\n"
        "@app.task\ndef framework():\n    djangoaddon.layers.get_layer()\n",
    )
    (root / "poetry.lock").write_text(
        '[[package]]\nname = "weathersdk"\nversion = "1.0"\n'
        '[package.dependencies]\nhttpx = ">=0.27"\n'
        '[[package]]\nname = "ledgerkit"\nversion = "2.0"\n'
        '[package.dependencies]\npsycopg2-binary = "*"\n'
        '[[package]]\nname = "djangoaddon"\nversion = "3.0"\n'
        '[package.dependencies]\ndjango = ">=4"\n'
    )
    tasks = _tasks(root)
    (net,) = tasks["fetch"].evidence
    assert net.kind == "net_io"
    assert (
        net.note
        == "inferred from weathersdk's dependencies: it depends on httpx (a network client)"
    )
    (db,) = tasks["book"].evidence
    assert db.kind == "db_io"
    assert "psycopg2-binary (a database driver)" in db.note
    # A framework says nothing about what a call does: no guess.
    assert tasks["framework"].kind == "unknown"
    # What the lock says is stored as JSON by the lock's hash, and read back next time.
    cache = tmp_path / "cache"
    _tasks(root, cache)
    (stored,) = (cache / "libraries" / "locks").glob("*.json")
    assert json.loads(stored.read_text())["weathersdk"] == ["httpx"]
    stored.write_text(json.dumps({"weathersdk": ["psycopg2"]}))
    for answer in (cache / "libraries").glob("weathersdk-*.json"):
        answer.unlink()  # forget the answer for the call, keep the lock's reading
    other = tmp_path / "other"
    shutil.copytree(root, other)  # another project (own result cache), the same lock
    (again,) = _tasks(other, cache)["fetch"].evidence
    assert again.kind == "db_io"  # the stored reading, not a re-parse


def test_a_library_neither_installed_nor_locked_is_judged_by_the_client_it_is_named_after(
    tmp_path: Path,
) -> None:
    """No lock file, not installed: ``requests_hardened`` extends requests (network),
    ``redis_lock`` redis; a test double or an unrelated name gets no guess."""
    root = task_module(
        tmp_path,
        "import requests_hardened, redis_lock, requests_mock, weathersdk\n"
        "client = requests_hardened.Manager(requests_hardened.Config())\n"
        "@app.task\ndef fetch(url):\n    client.send_request('GET', url)\n"
        "@app.task\ndef locked():\n    redis_lock.Lock(None, 'k').acquire()\n"
        "@app.task\ndef double():\n    requests_mock.Mocker().get('u')\n"
        "@app.task\ndef other():\n    weathersdk.today()\n",
    )
    tasks = _tasks(root)
    (net,) = tasks["fetch"].evidence
    assert (net.kind, net.call) == ("net_io", "requests_hardened.Manager.send_request")
    assert net.note == (
        "inferred from requests_hardened's name: an extension of requests (a network client)"
    )
    (db,) = tasks["locked"].evidence
    assert db.kind == "db_io"
    assert tasks["double"].kind == "unknown"
    assert tasks["other"].kind == "unknown"


def test_a_described_library_is_never_inferred(tmp_path: Path) -> None:
    """requests has a table: an unknown attribute of it stays unknown, not guessed."""
    body = "import requests\n@app.task\ndef f():\n    requests.utils.quote('x')\n"
    advice = analyze(
        [task_module(tmp_path, body)],
        AdvisorConfig(),
        plugin_calls=[c for p in builtin_plugins() for c in p.calls],
        cores=2,
    )
    assert advice.tasks[0].kind == "unknown"


def test_a_single_module_library_and_a_package_over_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celery_poolkit.advisor import inferred

    _install(
        tmp_path / "site",
        monkeypatch,
        {
            "pinger.py": "import time\n\ndef wait_for(host):\n    time.sleep(1)\n",
            **{f"hugesdk/m{i}.py": "import requests\n" for i in range(3)},
            "hugesdk/__init__.py": "def go():\n    return 1\n",
        },
    )
    monkeypatch.setattr(inferred, "MAX_FILES", 2)  # hugesdk has 4 files
    body = (
        "import pinger\nimport hugesdk\n"
        "@app.task\ndef ping(h):\n    pinger.wait_for(h)\n"
        "@app.task\ndef go():\n    hugesdk.go()\n"
    )
    tasks = _tasks(task_module(tmp_path / "p", body))
    (ev,) = tasks["ping"].evidence
    assert (ev.kind, ev.note) == ("sleep", "inferred from pinger 0's source: reaches time.sleep")
    # Over budget and without metadata: nothing is read, nothing is guessed.
    assert tasks["go"].kind == "unknown"
