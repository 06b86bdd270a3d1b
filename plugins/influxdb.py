"""InfluxDB clients: ``influxdb`` (1.x) and ``influxdb_client`` (2.x), over HTTP.

**Knows:** ``influxdb.InfluxDBClient`` / ``DataFrameClient`` and every call through them
(``query``, ``write_points``, ``create_database`` …); ``influxdb_client.InfluxDBClient``
(constructing it does no IO), its ``write_api()`` / ``query_api()`` / ``delete_api()`` /
``buckets_api()`` (factories) and every call on what they return (``write``, ``query``,
``query_data_frame``, ``delete`` …), ``ping`` / ``health`` / ``ready``.

**Under gevent:** both clients talk HTTP through urllib3 (1.x through requests):
cooperative after patching. The 2.x ``WriteApi`` in its default batching mode writes
from a background thread (Rx scheduler); with ``SYNCHRONOUS`` the task waits.

**Fix:** use ``write_options=SYNCHRONOUS`` in tasks (a batching writer must be closed
or its buffer is lost when the task's process recycles); share one client per process.

**Sources:** influxdb-python docs (``InfluxDBClient``); influxdb-client-python README
("Writes", "Queries", "Batching"); ``influxdb_client/_sync/rest.py`` (urllib3).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_V1 = "influxdb.InfluxDBClient"
_V2 = "influxdb_client.InfluxDBClient"
_APIS = {
    "write_api": "influxdb_client.client.write_api.WriteApi",
    "query_api": "influxdb_client.client.query_api.QueryApi",
    "delete_api": "influxdb_client.client.delete_api.DeleteApi",
    "buckets_api": "influxdb_client.client.bucket_api.BucketsApi",
    "organizations_api": "influxdb_client.client.organizations_api.OrganizationsApi",
    "tasks_api": "influxdb_client.client.tasks_api.TasksApi",
}
_HTTP = "an HTTP request to InfluxDB"

PLUGIN = Plugin(
    name="influxdb",
    modules=("influxdb", "influxdb_client"),
    distributions=("influxdb", "influxdb-client"),
    summary="InfluxDB 1.x and 2.x clients: HTTP requests, cooperative after patching.",
    calls=(
        ctor(_V1, _V1),
        ctor("influxdb.DataFrameClient", _V1),
        Call(f"{_V1}.*", Effect.DB_IO, note=_HTTP),
        ctor(_V2, _V2),
        ctor(f"{_V2}.from_env_properties", _V2),
        ctor(f"{_V2}.from_config_file", _V2),
        Call(f"{_V2}.*", Effect.DB_IO, note=_HTTP),
        *(ctor(f"{_V2}.{name}", api) for name, api in _APIS.items()),
        *(Call(f"{api}.*", Effect.DB_IO, note=_HTTP) for api in _APIS.values()),
    ),
)
