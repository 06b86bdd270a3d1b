"""Minimal Django settings: one PostgreSQL database, configured from the environment."""

from __future__ import annotations

import os

from psycopg2.extensions import parse_dsn

ENGINE = os.environ.get("DJAPP_ENGINE", "poolkit")
_dsn = parse_dsn(os.environ.get("GREENDB_DSN", "dbname=postgres"))
_pool = {
    "max_size": int(os.environ.get("GREENDB_POOL_SIZE", "10")),
    "timeout": float(os.environ.get("GREENDB_POOL_TIMEOUT", "30")),
}

SECRET_KEY = "greendb-tests-only"
USE_TZ = True
INSTALLED_APPS: list[str] = []
DATABASES = {
    "default": {
        "ENGINE": (
            "celery_poolkit.plugins.django.backends.postgresql"
            if ENGINE == "poolkit"
            else "django.db.backends.postgresql"
        ),
        "NAME": _dsn.get("dbname", "postgres"),
        "USER": _dsn.get("user", "postgres"),
        "HOST": _dsn.get("host", "127.0.0.1"),
        "PORT": _dsn.get("port", "5432"),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            "application_name": _dsn.get("application_name", "djapp"),
            **({"pool": _pool} if ENGINE in ("poolkit", "native") else {}),
        },
    }
}

CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = "greendb"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
