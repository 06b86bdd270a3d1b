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
