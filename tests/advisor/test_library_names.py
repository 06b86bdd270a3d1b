"""A library class reached by any of the names the library exports it under.

SQLAlchemy 2.0 exports ``Engine`` and ``Connection`` at the top level; projects annotate
factories and constructors with those names (``def get_engine() -> Engine``), and the
calls on what they return are the same database round trips as through
``sqlalchemy.engine.Engine``.
"""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise, kinds, task_module

ENGINE_BY_ANNOTATION = """
from sqlalchemy import Connection, Engine, create_engine, text

_engine = None


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = create_engine("postgresql://db/app")
    return _engine


class Repo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def purge(self):
        self._conn.execute(text("DELETE FROM runs"))


@app.task
def through_the_factory():
    with get_engine().begin() as conn:
        conn.execute(text("SELECT 1"))


@app.task
def through_a_repository():
    engine = get_engine()
    with engine.begin() as conn:
        Repo(conn).purge()


@app.task
def only_builds_a_clause():
    return text("SELECT 1")
"""


def test_sqlalchemy_top_level_names_are_the_engine_and_connection(tmp_path: Path) -> None:
    found = kinds(advise(task_module(tmp_path, ENGINE_BY_ANNOTATION)))
    assert "db_io" in found["through_the_factory"]
    assert "db_io" in found["through_a_repository"]
    assert "db_io" not in found["only_builds_a_clause"]


FLUENT = """
from elasticsearch_dsl import Search


class Repository:
    def query(self):
        return Search(index="docs")


@app.task
def count_in_one_expression(owner):
    return Search(index="docs").filter("term", owner=owner).sort("-date").count()


@app.task
def count_through_a_variable(owner):
    base = Search(index="docs")
    narrowed = base.filter("term", owner=owner)
    return narrowed.count()


@app.task
def count_through_a_project_method(owner):
    return Repository().query().filter("term", owner=owner).count()


@app.task
def only_builds_the_query(owner):
    return Search(index="docs").filter("term", owner=owner).sort("-date")


@app.task
def on_something_unknown(thing):
    return make_it(thing).filter(x=1).count()
"""


def test_a_fluent_chain_is_typed_link_by_link(tmp_path: Path) -> None:
    found = kinds(advise(task_module(tmp_path, FLUENT)))
    assert "net_io" in found["count_in_one_expression"]
    assert "net_io" in found["count_through_a_variable"]
    assert "net_io" in found["count_through_a_project_method"]
    assert "net_io" not in found["only_builds_the_query"]  # building a search is no IO
    assert found["on_something_unknown"] == set()


def test_a_very_long_chain_is_cut_not_followed(tmp_path: Path) -> None:
    body = "from elasticsearch_dsl import Search\n\n@app.task\ndef long_one():\n"
    body += "    return Search()" + ".filter(x=1)" * 40 + ".count()\n"
    found = kinds(advise(task_module(tmp_path, body)))
    assert "net_io" not in found["long_one"]  # deeper than the links followed: unknown


SESSION_ON_A_LIBRARY_OBJECT = """
from flask import session

from proj.models import Annotation

# Pyramid apps hang a bootstrapped request on the Celery app: app.request.db is the
# request's SQLAlchemy session, an attribute Celery's table cannot know.


@app.task
def purge_expired():
    app.request.db.query(Annotation).filter(Annotation.expired).delete()


@app.task
def reads_the_flask_cookie_session():
    return session.get("user_id")


@app.task
def unknown_attribute_of_no_session_name():
    app.request.route_url("home")
"""


def test_a_session_name_below_a_library_object_reads_as_a_session(tmp_path: Path) -> None:
    root = task_module(tmp_path, SESSION_ON_A_LIBRARY_OBJECT)
    (root / "proj" / "models.py").write_text("class Annotation:\n    expired = True\n")
    found = kinds(advise(root))
    assert "db_io" in found["purge_expired"]
    assert "db_io" not in found["reads_the_flask_cookie_session"]  # a module's name
    assert found["unknown_attribute_of_no_session_name"] == set()


SESSION_UNDER_A_PRIVATE_NAME = """
class KeyService:
    def __init__(self, db):
        self._db = db

    def rotate(self):
        return self._db.query("Key").all()

    def names(self):
        return self._misc.query("Key")  # not a session's name, private or not


@app.task
def rotate_keys(db):
    KeyService(db).rotate()


@app.task
def reads_something_else(db):
    KeyService(db).names()
"""


def test_a_session_stored_under_a_private_name_reads_as_a_session(tmp_path: Path) -> None:
    # Services keep what they were given as ``self._db``: the leading underscore says
    # private, not something else than a session.
    found = kinds(advise(task_module(tmp_path, SESSION_UNDER_A_PRIVATE_NAME)))
    assert "db_io" in found["rotate_keys"]
    assert "db_io" not in found["reads_something_else"]
