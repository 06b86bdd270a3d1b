"""What depending on a library says about a package that has no table of its own.

A package built on an HTTP client talks to the network, one built on a database driver to
a database: the advisor's fallback for an uninstalled library (``advisor/inferred.py``)
reads its declared dependencies against this list. Only clients and drivers are here;
frameworks (Django, Flask) and utilities say nothing about what a call does.
Keys are distribution names, normalised (lower case, ``-`` for ``_`` and ``.``).
"""

from __future__ import annotations

from celery_poolkit.model import Effect

CLIENTS: dict[str, Effect] = {
    **dict.fromkeys(
        (
            "requests",
            "httpx",
            "urllib3",
            "aiohttp",
            "pycurl",
            "httplib2",
            "grpcio",
            "boto3",
            "botocore",
            "google-api-core",
            "websocket-client",
            "websockets",
            "paramiko",
            "elasticsearch",
            "opensearch-py",
        ),
        Effect.NET_IO,
    ),
    **dict.fromkeys(
        (
            "psycopg2",
            "psycopg2-binary",
            "psycopg",
            "psycopg-binary",
            "asyncpg",
            "pymysql",
            "mysqlclient",
            "mysql-connector-python",
            "pymongo",
            "motor",
            "redis",
            "cassandra-driver",
            "clickhouse-driver",
            "clickhouse-connect",
            "pymssql",
            "pyodbc",
            "sqlalchemy",
            "influxdb-client",
        ),
        Effect.DB_IO,
    ),
}
