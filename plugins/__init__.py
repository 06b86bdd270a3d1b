"""Library knowledge, installed as ``celery_poolkit.plugins``: one module per library.

A plugin holds what poolkit knows about its library as data (what each call does, whether
it is safe under a green pool) and, where the library needs one, a runtime adapter that
imports the library lazily, so the advisor works where the library is not installed.

Third-party packages add plugins through the ``celery_poolkit.plugins`` entry-point group
(each entry point names a module that defines ``PLUGIN``). Their runtime hooks run like the
built-in ones; a third-party plugin that cannot be loaded is reported, never ignored.

This module is the one registry: the advisor reads the plugins' knowledge from it, and
the hazard scan, the adapters, ``poolkit doctor`` and the start-up guard read their
runtime hooks from :func:`runtime_plugins`.
"""

from __future__ import annotations

import importlib
from functools import cache

from celery_poolkit.plugins.base import Plugin

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "RUNTIME",
    "Plugin",
    "builtin_plugins",
    "entry_point_plugins",
    "runtime_plugins",
]

ENTRY_POINT_GROUP = "celery_poolkit.plugins"

#: The built-in plugins with runtime hooks (hazards, adapter, driver state, minimum
#: version), with their knowledge. Patching imports only these: the other tables are the
#: advisor's, and importing all of them would add ~12 ms to every gevent worker's start.
#: tests/plugins/test_registry.py checks that every plugin with a hook is listed here.
RUNTIME: tuple[str, ...] = (
    "celery_poolkit.plugins.cassandra",
    "celery_poolkit.plugins.django",
    "celery_poolkit.plugins.grpc",
    "celery_poolkit.plugins.mysqlclient",
    "celery_poolkit.plugins.psycopg",
    "celery_poolkit.plugins.psycopg2",
    "celery_poolkit.plugins.urllib3",
)
#: Listed at the end of BUILTIN (after the A-Z tables) for their knowledge.
_RUNTIME_ONLY_AT_END: tuple[str, ...] = (
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
    "celery_poolkit.plugins.asyncpg",
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
    "celery_poolkit.plugins.discord_webhook",
    "celery_poolkit.plugins.elasticsearch",
    "celery_poolkit.plugins.elasticsearch_dsl",
    "celery_poolkit.plugins.firebase_admin",
    "celery_poolkit.plugins.flask_sqlalchemy",
    "celery_poolkit.plugins.google_cloud",
    "celery_poolkit.plugins.google_cloud_storage",
    "celery_poolkit.plugins.httpx",
    "celery_poolkit.plugins.influxdb",
    "celery_poolkit.plugins.invenio",
    "celery_poolkit.plugins.jinja2",
    "celery_poolkit.plugins.jira",
    "celery_poolkit.plugins.joblib",
    "celery_poolkit.plugins.kafka_python",
    "celery_poolkit.plugins.kombu",
    "celery_poolkit.plugins.l10n",
    "celery_poolkit.plugins.ldap3",
    "celery_poolkit.plugins.lightgbm",
    "celery_poolkit.plugins.lxml",
    "celery_poolkit.plugins.minio",
    "celery_poolkit.plugins.mongoengine",
    "celery_poolkit.plugins.motor",
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
    "celery_poolkit.plugins.pyramid_mailer",
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
    "celery_poolkit.plugins.selectolax",
    "celery_poolkit.plugins.sentence_transformers",
    "celery_poolkit.plugins.sendgrid",
    "celery_poolkit.plugins.sentry_sdk",
    "celery_poolkit.plugins.sklearn",
    "celery_poolkit.plugins.slack_sdk",
    "celery_poolkit.plugins.slumber",
    "celery_poolkit.plugins.sqlalchemy",
    "celery_poolkit.plugins.sqlalchemy_asyncio",
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
    *_RUNTIME_ONLY_AT_END,
)


@cache
def builtin_plugins() -> tuple[Plugin, ...]:
    """Every shipped plugin, in ``BUILTIN`` order. Imports no third-party library."""
    return tuple(importlib.import_module(path).PLUGIN for path in BUILTIN)


@cache
def entry_point_plugins() -> tuple[tuple[Plugin, ...], tuple[tuple[str, str], ...]]:
    """Third-party plugins (the ``celery_poolkit.plugins`` entry points), and the ones
    that could not be loaded as ``(entry point name, error)``: reported, never raised."""
    from importlib.metadata import entry_points

    found: list[Plugin] = []
    errors: list[tuple[str, str]] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin = importlib.import_module(entry.value.partition(":")[0]).PLUGIN
            if not isinstance(plugin, Plugin):
                raise TypeError(f"PLUGIN is a {type(plugin).__name__}, not a Plugin")
        except Exception as exc:  # a broken third-party plugin must not stop a worker
            errors.append((entry.name, f"{type(exc).__name__}: {exc}"))
        else:
            found.append(plugin)
    return tuple(found), tuple(errors)


@cache
def runtime_plugins() -> tuple[Plugin, ...]:
    """Every plugin with a runtime hook: the built-in ones in ``RUNTIME`` order, then the
    third-party ones. Imports no third-party library (only plugin modules)."""
    builtin = tuple(importlib.import_module(path).PLUGIN for path in RUNTIME)
    names = {p.name for p in builtin}
    extra = tuple(
        p for p in entry_point_plugins()[0] if p.has_runtime_hooks and p.name not in names
    )
    return builtin + extra
