"""Library knowledge, installed as ``celery_poolkit.plugins``: one module per library.

A plugin holds what poolkit knows about its library as data (what each call does, whether
it is safe under a green pool) and, where the library needs one, a runtime adapter that
imports the library lazily, so the advisor works where the library is not installed.

Third-party packages add plugins through the ``celery_poolkit.plugins`` entry-point group
(each entry point names a module that defines ``PLUGIN``).
"""

from __future__ import annotations

import importlib
from functools import cache

from celery_poolkit.plugins.base import Plugin

__all__ = ["BUILTIN", "WITH_ADAPTERS", "Plugin", "adapter_plugins", "builtin_plugins"]

#: The plugins with a runtime adapter (run after monkey patching), with their knowledge.
#: Patching imports only these: the other tables are the advisor's, and importing all of
#: them would add ~12 ms to every gevent worker's start for nothing.
WITH_ADAPTERS: tuple[str, ...] = (
    "celery_poolkit.plugins.grpc",
    "celery_poolkit.plugins.psycopg",
    "celery_poolkit.plugins.psycopg2",
    "celery_poolkit.plugins.urllib3",
)

#: Import strings of the plugins shipped with poolkit; resolved lazily by builtin_plugins().
BUILTIN: tuple[str, ...] = (
    "celery_poolkit.plugins.stdlib",
    # Library knowledge (static tables, no adapters), one module per library, A-Z.
    "celery_poolkit.plugins.aiohttp",
    "celery_poolkit.plugins.anthropic",
    "celery_poolkit.plugins.asgiref",
    "celery_poolkit.plugins.azure_storage_blob",
    "celery_poolkit.plugins.bcrypt",
    "celery_poolkit.plugins.boto3",
    "celery_poolkit.plugins.bs4",
    "celery_poolkit.plugins.cassandra",
    "celery_poolkit.plugins.celery",
    "celery_poolkit.plugins.clickhouse",
    "celery_poolkit.plugins.confluent_kafka",
    "celery_poolkit.plugins.cryptography",
    "celery_poolkit.plugins.django",
    "celery_poolkit.plugins.django_apps",
    "celery_poolkit.plugins.elasticsearch",
    "celery_poolkit.plugins.elasticsearch_dsl",
    "celery_poolkit.plugins.firebase_admin",
    "celery_poolkit.plugins.flask_sqlalchemy",
    "celery_poolkit.plugins.google_cloud",
    "celery_poolkit.plugins.google_cloud_storage",
    "celery_poolkit.plugins.httpx",
    "celery_poolkit.plugins.influxdb",
    "celery_poolkit.plugins.jira",
    "celery_poolkit.plugins.joblib",
    "celery_poolkit.plugins.kafka_python",
    "celery_poolkit.plugins.kombu",
    "celery_poolkit.plugins.lightgbm",
    "celery_poolkit.plugins.lxml",
    "celery_poolkit.plugins.minio",
    "celery_poolkit.plugins.mysqlclient",
    "celery_poolkit.plugins.numpy",
    "celery_poolkit.plugins.openai",
    "celery_poolkit.plugins.opencv",
    "celery_poolkit.plugins.openpyxl",
    "celery_poolkit.plugins.pandas",
    "celery_poolkit.plugins.paramiko",
    "celery_poolkit.plugins.passlib",
    "celery_poolkit.plugins.pdfkit",
    "celery_poolkit.plugins.pdfplumber",
    "celery_poolkit.plugins.petl",
    "celery_poolkit.plugins.pika",
    "celery_poolkit.plugins.pillow",
    "celery_poolkit.plugins.post_office",
    "celery_poolkit.plugins.programs",
    "celery_poolkit.plugins.pycurl",
    "celery_poolkit.plugins.pylibmc",
    "celery_poolkit.plugins.pymemcache",
    "celery_poolkit.plugins.pymongo",
    "celery_poolkit.plugins.pymssql",
    "celery_poolkit.plugins.pymysql",
    "celery_poolkit.plugins.pyodbc",
    "celery_poolkit.plugins.pypdf",
    "celery_poolkit.plugins.pytesseract",
    "celery_poolkit.plugins.redis",
    "celery_poolkit.plugins.reportlab",
    "celery_poolkit.plugins.requests",
    "celery_poolkit.plugins.scipy",
    "celery_poolkit.plugins.sendgrid",
    "celery_poolkit.plugins.sentry_sdk",
    "celery_poolkit.plugins.sklearn",
    "celery_poolkit.plugins.slack_sdk",
    "celery_poolkit.plugins.sqlalchemy",
    "celery_poolkit.plugins.stdlib_extra",
    "celery_poolkit.plugins.stripe",
    "celery_poolkit.plugins.swapper",
    "celery_poolkit.plugins.telegram",
    "celery_poolkit.plugins.tensorflow",
    "celery_poolkit.plugins.torch",
    "celery_poolkit.plugins.transformers",
    "celery_poolkit.plugins.twilio",
    "celery_poolkit.plugins.weasyprint",
    "celery_poolkit.plugins.xgboost",
    *WITH_ADAPTERS,
)


@cache
def builtin_plugins() -> tuple[Plugin, ...]:
    """Every shipped plugin, in ``BUILTIN`` order. Imports no third-party library."""
    return tuple(importlib.import_module(path).PLUGIN for path in BUILTIN)


@cache
def adapter_plugins() -> tuple[Plugin, ...]:
    """The shipped plugins that have a runtime adapter, in ``BUILTIN`` order."""
    return tuple(importlib.import_module(path).PLUGIN for path in WITH_ADAPTERS)
