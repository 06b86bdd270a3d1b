"""Calls the resolver used to lose: names bound by ``:=``, Mongo and async database
clients at any depth, event-loop runners handed a function, and CPU work on one item
that only adds up in a loop. Each case is a small project, advised as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import APP, advise_files

from celery_poolkit.model import Effect, TaskInfo


def _one(tmp_path: Path, body: str) -> TaskInfo:
    advice = advise_files(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": APP + body})
    (task,) = advice.tasks
    return task


def _effects(task: TaskInfo) -> set[Effect]:
    return set(task.effects) - {Effect.FILE_IO, Effect.BROKER_IO}


WALRUS = """
import requests

def send_http(url):
    return requests.post(url)

def send_queue(url):
    return None

def send(url, scheme):
    senders = {"http": send_http, "sqs": send_queue}
    if sender := senders.get(scheme):
        return sender(url)
    raise ValueError(scheme)

@app.task
def deliver(url):
    send(url, "http")
"""


def test_a_name_bound_by_walrus_in_a_condition_is_called_in_the_body(tmp_path: Path) -> None:
    task = _one(tmp_path, WALRUS)
    assert _effects(task) == {Effect.NET_IO}
    (evidence,) = [e for e in task.evidence if e.kind == "net_io"]
    assert evidence.call == "requests.post"


def test_without_the_walrus_binding_the_same_call_stays_unknown(tmp_path: Path) -> None:
    # The control: the name bound some other way the resolver cannot follow.
    body = WALRUS.replace(
        "if sender := senders.get(scheme):", "sender = pick(senders)\n    if sender:"
    )
    body = body.replace("def send(url, scheme):", "def send(url, scheme, pick=None):")
    assert Effect.NET_IO not in _effects(_one(tmp_path, body))


PER_ITEM = {
    "template rendered once": (
        "from django.template.loader import render_to_string\n"
        "@app.task\ndef t(ctx):\n    return render_to_string('a.html', ctx)\n",
        set(),
    ),
    "template rendered per item": (
        "from django.template.loader import render_to_string\n"
        "@app.task\ndef t(items):\n"
        "    out = []\n    for item in items:\n"
        "        out.append(render_to_string('a.html', item))\n"
        "    return out\n",
        {Effect.CPU},
    ),
    "template rendered in a comprehension": (
        "from django.template.loader import render_to_string\n"
        "@app.task\ndef t(items):\n    return [render_to_string('a.html', i) for i in items]\n",
        {Effect.CPU},
    ),
    "a key derived once": (
        "import hashlib\n"
        "@app.task\ndef t(secret, salt):\n"
        "    return hashlib.pbkdf2_hmac('sha256', secret, salt, 100_000)\n",
        set(),
    ),
    "a payload compressed once": (
        "import zlib\n@app.task\ndef t(payload):\n    return zlib.compress(payload)\n",
        set(),
    ),
    "one fetched page parsed": (
        "import requests\nfrom bs4 import BeautifulSoup\n"
        "@app.task\ndef t(url):\n"
        "    soup = BeautifulSoup(requests.get(url).text, 'html.parser')\n"
        "    return soup.title\n",
        {Effect.NET_IO},
    ),
    "every page of a list parsed": (
        "from bs4 import BeautifulSoup\n"
        "@app.task\ndef t(pages):\n"
        "    for page in pages:\n        BeautifulSoup(page, 'html.parser')\n",
        {Effect.CPU},
    ),
    # Only the function's own loops repeat its per-item work: a helper that renders
    # one item is not repeated by being called (measured: counting the callers' loops
    # added false positives on the corpus and found nothing the labels call CPU).
    "a helper rendering one item, called once": (
        "from django.template.loader import render_to_string\n"
        "def body(item):\n    return render_to_string('a.html', {'item': item})\n"
        "def row(item):\n    return body(item).strip()\n"
        "@app.task\ndef t(item):\n    return row(item)\n",
        set(),
    ),
    "a helper hashing one key, called once from a helper with a loop elsewhere": (
        "import hmac\n"
        "def sign(key, msg):\n    return hmac.new(key, msg, 'sha256').hexdigest()\n"
        "def count(items):\n    n = 0\n    for i in items:\n        n += i\n"
        "    return sign(b'k', str(n).encode())\n"
        "@app.task\ndef t(items):\n    return count(items)\n",
        set(),
    ),
    # A loop repeats per-item work only on its items: the same value parsed again for
    # each of a few validators is one document's work (must not fire); a value the
    # body derives from the item is the item (must fire).
    "the same document parsed once per validator": (
        "from lxml import etree\n"
        "@app.task\ndef t(doc, validators):\n"
        "    for validator in validators:\n"
        "        validator.assertValid(etree.XML(doc.encode('utf8')))\n",
        set(),
    ),
    "a value derived from the item hashed in the loop": (
        "import zlib\n"
        "@app.task\ndef t(files):\n"
        "    for f in files:\n        data = f.read()\n"
        "        print(len(zlib.compress(data)))\n",
        {Effect.CPU_RELEASES_GIL},
    ),
    "templates rendered while a batch remains": (
        "from django.template.loader import render_to_string\n"
        "@app.task\ndef t(batches):\n"
        "    batch = batches.pop()\n"
        "    while batch:\n"
        "        render_to_string('a.xml', {'items': batch})\n        batch = batches.pop()\n",
        {Effect.CPU},
    ),
    "one e-mail rendered with Flask": (
        "from flask import render_template\n"
        "@app.task\ndef t(user):\n    return render_template('mail.txt', user=user)\n",
        set(),
    ),
    "a sitemap rendered page by page with Flask": (
        "import itertools\nfrom flask import render_template\n"
        "@app.task\ndef t(urls):\n"
        "    page = list(itertools.islice(urls, 100))\n"
        "    while page:\n"
        "        render_template('sitemap.xml', urlset=page)\n"
        "        page = list(itertools.islice(urls, 100))\n",
        {Effect.CPU},
    ),
    "Jinja2 templates rendered per record": (
        "from jinja2 import Environment\nenv = Environment()\n"
        "@app.task\ndef t(records):\n"
        "    tpl = env.get_template('row.html')\n"
        "    return [tpl.render(r=r) for r in records]\n",
        {Effect.CPU},
    ),
    "one fetched image re-encoded": (
        "import requests\nfrom PIL import Image\n"
        "@app.task\ndef t(url, path):\n"
        "    img = Image.open(requests.get(url, stream=True).raw)\n"
        "    img.convert('RGB').save(path)\n",
        {Effect.NET_IO},
    ),
    "every image of a list re-encoded": (
        "from PIL import Image\n"
        "@app.task\ndef t(paths):\n"
        "    for path in paths:\n"
        "        Image.open(path).convert('RGB').save(path + '.jpg')\n",
        {Effect.CPU_RELEASES_GIL},
    ),
    "one image resampled": (
        "from PIL import Image\n"
        "@app.task\ndef t(path):\n"
        "    Image.open(path).resize((1024, 768)).save(path + '.jpg')\n",
        {Effect.CPU_RELEASES_GIL},
    ),
    "one message catalogue read": (
        "import polib\n@app.task\ndef t(path):\n    return len(polib.pofile(path))\n",
        set(),
    ),
    "every locale's resource parsed and written back": (
        "from moz.l10n.resource import parse_resource, serialize_resource\n"
        "@app.task\ndef t(paths):\n"
        "    for path in paths:\n"
        "        res = parse_resource(path)\n"
        "        open(path, 'w').write(''.join(serialize_resource(res)))\n",
        {Effect.CPU},
    ),
    # Not per-item work: a whole file hashed, a whole archive deflated, wherever it is.
    "a whole file hashed": (
        "import hashlib\n@app.task\ndef t(path):\n"
        "    with open(path, 'rb') as f:\n        return hashlib.file_digest(f, 'sha256')\n",
        {Effect.CPU_RELEASES_GIL},
    ),
    "a compressed archive": (
        "import tarfile\n@app.task\ndef t(paths):\n"
        "    with tarfile.open('out.tar.gz', 'w:gz') as tar:\n        tar.add(paths[0])\n",
        {Effect.CPU_RELEASES_GIL},
    ),
}


@pytest.mark.parametrize("case", sorted(PER_ITEM))
def test_cpu_work_on_one_item_counts_only_in_a_loop(tmp_path: Path, case: str) -> None:
    body, expected = PER_ITEM[case]
    assert _effects(_one(tmp_path, body)) == expected


DATABASES = {
    "pymongo through attributes": """
from pymongo import MongoClient
client = MongoClient()
db = client.shop
@app.task
def t():
    db.orders.insert_one({})
""",
    "pymongo client chain": """
from pymongo import MongoClient
client = MongoClient()
@app.task
def t():
    return client.shop.orders.find_one({})
""",
    "mongoengine document": """
from mongoengine import Document, StringField
class Order(Document):
    ref = StringField()
@app.task
def t(ref):
    return Order.objects(ref=ref).first()
""",
    "mongoengine save": """
from mongoengine import Document
class Order(Document):
    pass
@app.task
def t():
    Order().save()
""",
    "motor in a coroutine": """
import asyncio
from motor.motor_asyncio import AsyncIOMotorClient
async def load(ref):
    client = AsyncIOMotorClient()
    return await client.shop.orders.find_one({"ref": ref})
@app.task
def t(ref):
    return asyncio.run(load(ref))
""",
    "asyncpg in a coroutine": """
import asyncio
import asyncpg
async def load():
    conn = await asyncpg.connect("postgresql://localhost/x")
    return await conn.fetch("select 1")
@app.task
def t():
    return asyncio.run(load())
""",
    "asyncpg pool": """
import asyncio
import asyncpg
async def load():
    pool = await asyncpg.create_pool("postgresql://localhost/x")
    async with pool.acquire() as conn:
        return await conn.fetchval("select 1")
@app.task
def t():
    return asyncio.run(load())
""",
    "AsyncSession from async_sessionmaker": """
import asyncio
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
Session = async_sessionmaker(create_async_engine("postgresql+asyncpg://localhost/x"))
async def load():
    async with Session() as session:
        return await session.execute("select 1")
@app.task
def t():
    return asyncio.run(load())
""",
    "sessionmaker.begin commits at the end of the block": """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
Session = sessionmaker(bind=create_engine("postgresql://localhost/x"))
@app.task
def t(row):
    with Session.begin() as session:
        session.add(row)
""",
}


@pytest.mark.parametrize("case", sorted(DATABASES))
def test_databases_reached_through_clients_and_coroutines(tmp_path: Path, case: str) -> None:
    assert _effects(_one(tmp_path, DATABASES[case])) == {Effect.DB_IO}


@pytest.mark.parametrize("runner", ["anyio.run(fetch, url)", "trio.run(fetch, url)"])
def test_an_event_loop_runner_runs_the_function_it_is_handed(tmp_path: Path, runner: str) -> None:
    body = f"""
import anyio
import trio
import httpx
async def fetch(url):
    async with httpx.AsyncClient() as client:
        return await client.get(url)
@app.task
def t(url):
    return {runner}
"""
    assert _effects(_one(tmp_path, body)) == {Effect.NET_IO}


def test_a_function_only_stored_by_a_library_call_is_not_run(tmp_path: Path) -> None:
    body = """
import httpx
import somelib
async def fetch(url):
    async with httpx.AsyncClient() as client:
        return await client.get(url)
@app.task
def t(url):
    somelib.register(fetch)
"""
    assert Effect.NET_IO not in _effects(_one(tmp_path, body))


def test_a_module_level_sessionmaker_called_per_task_gives_a_session(tmp_path: Path) -> None:
    body = """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/x"))
@app.task
def t():
    session = SessionLocal()
    return session.execute("select 1")
"""
    assert _effects(_one(tmp_path, body)) == {Effect.DB_IO}


HIERARCHY = """
import requests

class Activity:
    def action(self):
        raise NotImplementedError

class Follow(Activity):
    def action(self):
        requests.post("https://remote.example/inbox")

class Like(Activity):
    def action(self):
        return None

def parse(data):
    cls = lookup(data["type"])  # a value the resolver cannot follow
    return cls(**data)

@app.task
def handle(data):
    activity = parse(data)
    activity.action()
"""


def test_a_method_of_one_hierarchy_called_on_an_unknown_value(tmp_path: Path) -> None:
    task = _one(tmp_path, HIERARCHY)
    assert _effects(task) == {Effect.NET_IO}
    (evidence,) = [e for e in task.evidence if e.kind == "net_io"]
    assert evidence.via[-1] == "proj.tasks.Follow.action"


@pytest.mark.parametrize(
    "change",
    [
        # Defined by an unrelated class too: the value could be either, or neither.
        "\nclass Robot:\n    def action(self):\n        return None\n",
        # A name a library table has (``soup.find_all``): no guess by name.
        "RENAME:find_all",
        # A generic name every other class has.
        "RENAME:run",
    ],
)
def test_no_guess_when_the_method_name_does_not_single_out_a_hierarchy(
    tmp_path: Path, change: str
) -> None:
    body = HIERARCHY
    if change.startswith("RENAME:"):
        body = body.replace("action", change.partition(":")[2])
    else:
        body = body.replace("\ndef parse", change + "\ndef parse")
    assert Effect.NET_IO not in _effects(_one(tmp_path, body))


MONGO_ITEMS = {
    "a local database taken from the client": """
from pymongo import MongoClient
@app.task
def t():
    client = MongoClient()
    db = client.shop
    orders = db.orders
    orders.insert_one({})
""",
    "items with constant keys": """
from pymongo import MongoClient
@app.task
def t():
    client = MongoClient()
    client["shop"]["orders"].insert_one({})
""",
    "a module-level database by item": """
from pymongo import MongoClient
client = MongoClient()
db = client["shop"]
@app.task
def t():
    db["orders"].insert_one({})
""",
}


@pytest.mark.parametrize("case", sorted(MONGO_ITEMS))
def test_attributes_and_items_of_a_client_keep_its_class(tmp_path: Path, case: str) -> None:
    assert _effects(_one(tmp_path, MONGO_ITEMS[case])) == {Effect.DB_IO}


def test_an_entry_of_a_literal_table_is_still_dispatch(tmp_path: Path) -> None:
    body = """
import requests
def ping(url):
    requests.get(url)
HANDLERS = {"ping": ping}
@app.task
def t(url):
    HANDLERS["ping"](url)
"""
    assert _effects(_one(tmp_path, body)) == {Effect.NET_IO}


def test_a_class_level_annotation_with_a_default_types_the_attribute(tmp_path: Path) -> None:
    """A dataclass field ``client: API = None`` set later: the annotation says what
    instances hold there, through ``self.data.client`` as well."""
    body = """
from dataclasses import dataclass
from celery import Task
from slumber import API

@dataclass
class TaskData:
    build_pk: int = None
    api_client: API = None

class BuildTask(Task):
    def before_start(self, task_id, args, kwargs):
        self.data = TaskData()
        self.data.api_client = make_client()

    def finish(self):
        self.data.api_client.build(self.data.build_pk).patch({"state": "done"})

@app.task(base=BuildTask, bind=True)
def build(self):
    self.finish()
"""
    task = _one(tmp_path, body)
    assert _effects(task) == {Effect.NET_IO}
    (evidence,) = [e for e in task.evidence if e.kind == "net_io"]
    assert evidence.call.startswith("slumber.API.")


def test_without_the_annotation_the_attribute_stays_unknown(tmp_path: Path) -> None:
    body = """
from dataclasses import dataclass
from slumber import API

@dataclass
class TaskData:
    api_client = None

data = TaskData()

@app.task
def build(pk):
    data.api_client.build(pk).patch({})
"""
    assert Effect.NET_IO not in _effects(_one(tmp_path, body))


@pytest.mark.parametrize(
    ("launch", "expected"),
    [
        ('subprocess.run(["rsync", "-a", src, "backup.example:/srv/"])', Effect.NET_IO),
        ('subprocess.check_call(f"curl -sSf {src}", shell=True)', Effect.NET_IO),
        ('subprocess.run(["ls", src])', None),
    ],
)
def test_a_child_that_talks_to_a_remote_host_is_network_waiting(
    tmp_path: Path, launch: str, expected: Effect | None
) -> None:
    body = f"import subprocess\n@app.task\ndef t(src):\n    {launch}\n"
    effects = _effects(_one(tmp_path, body))
    assert Effect.SUBPROCESS in effects  # the launch itself, as before
    assert (Effect.NET_IO in effects) == (expected is Effect.NET_IO)


MODEXP = {
    "public-key arithmetic in a helper": (
        "def encrypt(m, g, y, r, p):\n"
        "    return pow(g, r, p), (m * pow(y, r, p)) % p\n"
        "@app.task\ndef t(m, g, y, p):\n    return encrypt(m, g, y, 12345, p)\n",
        {Effect.CPU},
    ),
    "two-argument pow is arithmetic": (
        "@app.task\ndef t(x):\n    return pow(x, 2) + x ** 3\n",
        set(),
    ),
    "a method named pow is not the builtin": (
        "@app.task\ndef t(calc, x):\n    return calc.pow(x, 2, 7)\n",
        set(),
    ),
}


@pytest.mark.parametrize("case", sorted(MODEXP))
def test_modular_exponentiation_is_cpu_work(tmp_path: Path, case: str) -> None:
    body, expected = MODEXP[case]
    assert _effects(_one(tmp_path, body)) == expected
