"""Invenio (Zenodo, InvenioRDM and other research repositories): its database, search,
indexer, cache and persistent-identifier modules.

**Knows:** ``invenio_db.db``, the app's Flask-SQLAlchemy object (``db.session`` round
trips, ``add`` / ``delete`` only stage); the models of the Invenio modules
(``PersistentIdentifier``, ``RecordMetadata``, ``ObjectVersion``, ``Bucket``,
``FileInstance``, ``RecordsBuckets``, ``Community``, ``User``, ``OAISet``, ``SIP`` …),
which are Flask-SQLAlchemy models (``Model.query``) with class methods that read or
write rows (``PersistentIdentifier.get``, ``ObjectVersion.create`` …);
``FileInstance.verify_checksum`` (reads the stored file and hashes it: CPU);
the records API (``Record.get_record`` / ``get_records`` / ``create`` / ``commit`` /
``delete``: JSON rows in the database); ``RecordsSearch`` (an elasticsearch-dsl
``Search``: built lazily, network IO on ``execute`` / ``scan`` / ``count``) and
``current_search_client`` (the Elasticsearch / OpenSearch client); ``RecordIndexer``
(``index`` / ``index_by_id`` / ``delete`` send to the search cluster,
``process_bulk_queue`` drains the indexer's queue into bulk requests, ``bulk_index``
only queues ids on the message broker); ``current_cache`` (Flask-Caching, Redis in
Invenio's default configuration); the DataCite provider (``register`` / ``update`` /
``reserve`` / ``delete`` call DataCite's API); ``current_accounts.datastore``
(Flask-Security's datastore over the database).

**Under gevent:** the database is SQLAlchemy (psycopg2 needs poolkit's adapter), the
search and DataCite clients go through urllib3 / requests and Redis through redis-py:
cooperative after patching.

**Fix:** as for SQLAlchemy and Elasticsearch: patch first, poolkit's psycopg2 adapter,
pool sizes below the green concurrency.

**Sources:** invenio-db, invenio-records, invenio-pidstore, invenio-files-rest,
invenio-search, invenio-indexer and invenio-cache documentation (API reference of each
module, inveniosoftware.org).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin
from celery_poolkit.plugins.sqlalchemy import SESSION_ROUND_TRIPS, session_staging

_SQL = "SQLAlchemy underneath: the DBAPI driver decides greenness"
_DB = "invenio_db.db"
_SESSION = f"{_DB}.session"
#: Flask-SQLAlchemy's model base (the ``flask_sqlalchemy`` table): ``Model.query.*``.
_FSA_MODEL = "flask_sqlalchemy.model.Model"
_SEARCH = "elasticsearch_dsl.Search"
_INDEXER = "invenio_indexer.api.RecordIndexer"
_DATACITE = "invenio_pidstore.providers.datacite.DataCiteProvider"

#: Models of the Invenio modules, with their class methods that read or write rows.
_MODELS: dict[str, tuple[str, ...]] = {
    "invenio_pidstore.models.PersistentIdentifier": ("get", "create", "get_by_object"),
    "invenio_pidstore.models.Redirect": (),
    "invenio_records.models.RecordMetadata": (),
    "invenio_files_rest.models.ObjectVersion": ("create", "get", "get_by_bucket", "get_versions"),
    "invenio_files_rest.models.Bucket": ("create", "get"),
    "invenio_files_rest.models.FileInstance": ("create", "get", "get_by_uri"),
    "invenio_records_files.models.RecordsBuckets": ("create",),
    "invenio_communities.models.Community": ("get", "create", "filter_communities"),
    "invenio_communities.models.InclusionRequest": ("create", "get"),
    "invenio_accounts.models.User": (),
    "invenio_accounts.models.Role": (),
    "invenio_oaiserver.models.OAISet": (),
    "invenio_sipstore.models.SIP": ("create",),
    "invenio_sipstore.models.RecordSIP": (),
}
#: The records APIs: a record is a dict whose JSON lives in a database row.
_RECORDS = ("invenio_records.api.Record", "invenio_records_files.api.Record")


def _sql(owner: str, names: tuple[str, ...], returns: str = "") -> tuple[Call, ...]:
    return each(owner, names, Effect.DB_IO, Green.NEEDS_ADAPTER, returns=returns, note=_SQL)


def _models() -> tuple[Call, ...]:
    rows: list[Call] = []
    for model, methods in _MODELS.items():
        rows.append(ctor(model, _FSA_MODEL, "a Flask-SQLAlchemy model (invenio_db.db.Model)"))
        rows += _sql(model, methods, returns=model)
    return tuple(rows)


def _records() -> tuple[Call, ...]:
    rows: list[Call] = []
    for record in _RECORDS:
        rows.append(ctor(record, record, "a dict: no IO until commit"))
        rows += _sql(record, ("get_record", "create"), returns=record)
        rows += _sql(record, ("get_records", "commit", "delete", "revert"))
    return tuple(rows)


def _search() -> tuple[Call, ...]:
    clients = (
        "invenio_search.current_search_client",
        "invenio_search.proxies.current_search_client",
    )
    return (
        ctor("invenio_search.api.RecordsSearch", _SEARCH, "an elasticsearch-dsl Search"),
        ctor("invenio_search.RecordsSearch", _SEARCH, "an elasticsearch-dsl Search"),
        *(
            Call(f"{client}.**", Effect.NET_IO, note="the Elasticsearch / OpenSearch client")
            for client in clients
        ),
        ctor(_INDEXER, _INDEXER, "no IO until a record is indexed"),
        *each(
            _INDEXER,
            ("index", "index_by_id", "delete", "delete_by_id", "process_bulk_queue"),
            Effect.NET_IO,
            note="requests to the search cluster",
        ),
        *each(
            _INDEXER,
            ("bulk_index", "bulk_delete"),
            Effect.BROKER_IO,
            note="queues record ids on the indexer's message queue",
        ),
    )


PLUGIN = Plugin(
    name="invenio",
    modules=(
        "invenio_db",
        "invenio_records",
        "invenio_records_files",
        "invenio_pidstore",
        "invenio_files_rest",
        "invenio_communities",
        "invenio_accounts",
        "invenio_oaiserver",
        "invenio_sipstore",
        "invenio_search",
        "invenio_indexer",
        "invenio_cache",
    ),
    distributions=(
        "invenio-db",
        "invenio-records",
        "invenio-records-files",
        "invenio-pidstore",
        "invenio-files-rest",
        "invenio-communities",
        "invenio-accounts",
        "invenio-oaiserver",
        "invenio-sipstore",
        "invenio-search",
        "invenio-indexer",
        "invenio-cache",
    ),
    summary="Invenio: records and models are SQLAlchemy rows, search and DataCite are network IO.",
    calls=(
        *_sql(_SESSION, SESSION_ROUND_TRIPS),
        *session_staging(_SESSION, ("remove", "close")),
        *_sql(_SESSION, ("query",), "sqlalchemy.orm.Query"),
        *_sql(_DB, ("create_all", "drop_all")),
        *_sql(f"{_DB}.engine", ("connect", "begin")),
        *_models(),
        Call(
            "invenio_files_rest.models.FileInstance.verify_checksum",
            Effect.CPU,
            Green.SAFE,
            note="reads the whole stored file and hashes it",
        ),
        *_records(),
        *_search(),
        *(
            Call(
                f"{cache}.*",
                Effect.DB_IO,
                note="Flask-Caching: Redis in Invenio's default configuration",
            )
            for cache in ("invenio_cache.current_cache", "invenio_cache.proxies.current_cache")
        ),
        *_sql(_DATACITE, ("get", "create"), returns=_DATACITE),
        *each(
            _DATACITE,
            ("register", "update", "reserve", "delete", "sync_status"),
            Effect.NET_IO,
            note="a request to DataCite's API",
        ),
        *(
            Call(f"{accounts}.datastore.*", Effect.DB_IO, Green.NEEDS_ADAPTER, note=_SQL)
            for accounts in (
                "invenio_accounts.current_accounts",
                "invenio_accounts.proxies.current_accounts",
            )
        ),
        *_sql("invenio_pidstore.resolver.Resolver", ("resolve",)),
    ),
)
