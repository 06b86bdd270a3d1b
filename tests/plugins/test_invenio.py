"""The Invenio table: records and models are database rows, search and indexing are the
cluster, bulk indexing only queues ids."""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise, kinds, task_module

from celery_poolkit.model import Effect
from celery_poolkit.plugins import builtin_plugins
from celery_poolkit.plugins.base import Plugin

INVENIO_TASKS = """
from invenio_cache import current_cache
from invenio_db import db
from invenio_indexer.api import RecordIndexer
from invenio_pidstore.models import PersistentIdentifier
from invenio_records.api import Record
from invenio_search.api import RecordsSearch


@app.task
def release(ids):
    for record in Record.get_records(ids):
        record["access_right"] = "open"
    db.session.commit()


@app.task
def reindex_owner(owner):
    rs = RecordsSearch(index="records").filter("term", owners=owner)
    for hit in rs.scan():
        RecordIndexer().index_by_id(hit.meta.id)


@app.task
def queue_for_indexing(ids):
    RecordIndexer().bulk_index(ids)


@app.task
def stage_only(pid):
    db.session.add(pid)


@app.task
def resolve(value):
    pid = PersistentIdentifier.query.filter_by(pid_value=value).first()
    return PersistentIdentifier.get("doi", value), pid


@app.task
def cached_details():
    return current_cache.get("update_datacite:task_details")
"""


def _plugin() -> Plugin:
    return next(p for p in builtin_plugins() if p.name == "invenio")


def test_the_table_is_registered_and_imports_nothing_of_invenio() -> None:
    plugin = _plugin()
    assert "invenio_db" in plugin.modules
    assert {c.effect for c in plugin.calls} >= {Effect.DB_IO, Effect.NET_IO, Effect.BROKER_IO}


def test_invenio_calls_in_tasks(tmp_path: Path) -> None:
    found = kinds(advise(task_module(tmp_path, INVENIO_TASKS)))
    assert "db_io" in found["release"]
    assert "net_io" in found["reindex_owner"]  # the search's scan and the indexer
    assert found["queue_for_indexing"] & {"net_io", "db_io"} == set()
    assert "broker_io" in found["queue_for_indexing"]
    assert found["stage_only"] & {"net_io", "db_io"} == set()  # add() only stages
    assert "db_io" in found["resolve"]
    assert "db_io" in found["cached_details"]
