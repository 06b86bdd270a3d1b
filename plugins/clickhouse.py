"""ClickHouse clients: clickhouse-driver (native TCP) and clickhouse-connect (HTTP).

**Knows:** ``clickhouse_driver.Client`` (``execute``, ``execute_iter``,
``execute_with_progress``, ``query_dataframe``, ``insert_dataframe``),
``clickhouse_driver.connect`` (DB-API), and ``clickhouse_connect.get_client()``
(``query``, ``query_df``, ``insert``, ``insert_df``, ``command`` …).

**Under gevent:** both are safe after patching. clickhouse-driver speaks the native
protocol over a Python ``socket`` (its C extensions only do compression and column
encoding); clickhouse-connect uses urllib3. Large result sets are also CPU work to
decode.

**Sources:** clickhouse-driver docs ("Quickstart", "DB API 2.0"); clickhouse-connect
docs ("Client"); green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_DRV = "clickhouse_driver.Client"
_HTTP = "clickhouse_connect.driver.client.Client"

PLUGIN = Plugin(
    name="clickhouse",
    modules=("clickhouse_driver", "clickhouse_connect"),
    distributions=("clickhouse-driver", "clickhouse-connect"),
    summary="ClickHouse over native TCP or HTTP: cooperative after patching.",
    calls=(
        ctor(_DRV, _DRV),
        ctor(f"{_DRV}.from_url", _DRV),
        Call(f"{_DRV}.*", Effect.DB_IO),
        Call(
            "clickhouse_driver.connect",
            Effect.DB_IO,
            returns="clickhouse_driver.dbapi.connection.Connection",
        ),
        Call("clickhouse_driver.dbapi.connection.Connection.*", Effect.DB_IO),
        Call(
            "clickhouse_connect.get_client",
            Effect.DB_IO,
            returns=_HTTP,
            note="queries the server's version and settings on creation",
        ),
        Call(f"{_HTTP}.*", Effect.DB_IO),
    ),
)
