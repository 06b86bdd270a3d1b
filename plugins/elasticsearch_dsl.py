"""Elasticsearch / OpenSearch DSL: ``Search(...).execute()``, ``Document.save()``.

**Knows:** ``elasticsearch_dsl`` (also ``elasticsearch.dsl`` in elasticsearch-py 8.13+)
and ``opensearch_dsl`` (also ``opensearchpy`` 2.x's ``Search``): ``Search`` and
``MultiSearch`` / ``UpdateByQuery`` are built lazily (``query``, ``filter``, ``sort``,
``extra``, ``source`` … return a new search, no IO) and go to the cluster on
``execute`` / ``scan`` / ``count`` / ``delete`` / iteration; ``Document`` subclasses do
IO on ``save`` / ``update`` / ``delete`` / ``get`` / ``mget`` / ``init``, and
``Document.search()`` builds a ``Search``; ``Index`` ``create`` / ``delete`` /
``exists`` / ``refresh`` / ``put_mapping``; ``connections.create_connection`` (no IO).
The same for django-elasticsearch-dsl's ``Document`` and ``Index`` (subclasses of the
DSL's). The IO is network IO, as for the client.

**Under gevent:** the DSL sends its requests through the low-level client (urllib3):
cooperative after patching, like the ``elasticsearch`` table.

**Fix:** as for the client: patch first, one connection per process.

**Sources:** elasticsearch-dsl docs ("Search DSL", "Persistence": ``Document``,
``Index``); opensearch-dsl-py README; elasticsearch-py 8.13 release notes (DSL merged).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_PACKAGES = (
    "elasticsearch_dsl",
    "elasticsearch.dsl",
    "opensearch_dsl",
    "opensearchpy",
    "django_elasticsearch_dsl",
)
_SEARCH_IO = ("execute", "scan", "count", "delete")
_DOC_IO = ("save", "update", "delete", "get", "mget", "init", "exists")
_INDEX_IO = ("create", "delete", "exists", "refresh", "put_mapping", "save", "flush")
_NOTE = "a request through the low-level client (urllib3)"


def _dsl(package: str) -> tuple[Call, ...]:
    search = f"{package}.Search"
    document = f"{package}.Document"
    return (
        ctor(search, search),
        Call(f"{search}.*", None, Green.SAFE, returns=search, note="builds the query: no IO"),
        *each(search, _SEARCH_IO, Effect.NET_IO, note=_NOTE),
        ctor(f"{package}.MultiSearch", search),
        ctor(f"{package}.UpdateByQuery", search),
        ctor(document, document),
        ctor(f"{document}.search", search),
        *each(document, _DOC_IO, Effect.NET_IO, note=_NOTE),
        ctor(f"{package}.Index", f"{package}.Index"),
        *each(f"{package}.Index", _INDEX_IO, Effect.NET_IO, note=_NOTE),
    )


PLUGIN = Plugin(
    name="elasticsearch_dsl",
    modules=(
        "elasticsearch_dsl",
        "elasticsearch",
        "opensearch_dsl",
        "opensearchpy",
        "django_elasticsearch_dsl",
    ),
    distributions=("elasticsearch-dsl", "opensearch-dsl", "django-elasticsearch-dsl"),
    summary="Elasticsearch/OpenSearch DSL: lazy searches, IO on execute and Document.save.",
    calls=tuple(row for package in _PACKAGES for row in _dsl(package)),
)
