"""Django: the ORM, the cache framework, e-mail and template rendering.

**Knows:**

- ORM: ``Model.objects.*``, ``_default_manager`` / ``_base_manager`` and every
  ``Manager`` / ``QuerySet`` method (``filter``, ``get``, ``create``, ``update``,
  ``bulk_create``, ``count``, ``exists`` …; the chainable ones are lazy, but a queryset
  built in a task is evaluated there, so they count), ``Model.save`` / ``delete`` /
  ``refresh_from_db`` / ``full_clean``, raw cursors (``connection.cursor()``),
  ``transaction.atomic`` (called, in ``with`` or as a decorator) and
  ``get_object_or_404``. ``get`` / ``first`` / ``last`` / ``create`` / ``earliest`` /
  ``latest`` return an instance of the model they were called through, so its own methods
  are followed.
- Models Django ships are models: ``AbstractUser``, ``AbstractBaseUser``, ``User``,
  ``Group``, ``Permission``, ``ContentType``, ``Site``, ``Session`` …, and so are
  ``get_user_model()`` and ``apps.get_model(...)``; ``UserManager`` is a manager.
- ``django.core.cache.cache.*`` (a round trip to the configured cache backend).
- ``django.core.management.call_command`` (a project command is followed to its
  ``Command.handle``; another app's command counts as database IO, inferred);
- ``django.core.mail``: ``send_mail``, ``send_mass_mail``, ``mail_admins``,
  ``mail_managers``, ``EmailMessage`` / ``EmailMultiAlternatives`` ``.send()`` and
  ``get_connection().send_messages()``: what they do follows ``EMAIL_BACKEND`` as the
  project's settings set it (``EMAIL_BACKENDS`` below: SMTP and HTTP providers are
  network IO, ``post_office`` writes rows, celery-email publishes a task, console and
  locmem do no IO).
- ``render_to_string`` (CPU) and ``default_storage`` (file IO, or network IO with a
  remote django-storages backend).

**Under gevent:** the ORM's greenness is its driver's. PostgreSQL through psycopg2 waits
in libpq and blocks the hub unless poolkit's adapter installed a wait callback; psycopg 3
is cooperative only if imported after patching, which poolkit's adapter checks:
``NEEDS_ADAPTER``. MySQL through mysqlclient always blocks the hub (use
PyMySQL: ``pymysql.install_as_MySQLdb()``); SQLite is file IO. Cache backends:
redis-py and pymemcache are safe after patching, pylibmc blocks the hub. E-mail over the
SMTP backend uses ``smtplib``: safe after patching.

**Connections:** Django keeps one connection per thread, and after patching per
*greenlet*: ``-P gevent -c 500`` can open 500 database connections. If ``django.db`` is
imported before patching, every greenlet shares one connection instead ("another
command is already in progress"). ``CONN_MAX_AGE > 0`` connections die with their
greenlet and are never reused.

**Fix:** patch first; on gevent use Django >= 5.1's pool (``OPTIONS={"pool": ...}``,
``CONN_MAX_AGE=0``) or poolkit's green pooled backend; size ``max_size`` below
``max_connections / processes``.

**Sources:** Django docs "Databases" (persistent connections, connection pool),
"Cache framework", "Sending email"; ``django/db/utils.py`` (``ConnectionHandler``,
``thread_critical``); gunicorn #996; django-celery-results #428; mysqlclient PR #285;
green-runtime.md §5.3 and §6.

**Runtime:** ``celery_poolkit.plugins.django.backends.postgresql`` is a green pooled
database ``ENGINE`` for psycopg2; ``release_task_connections`` gives a task's
connections back to the pool when the task ends. Neither imports Django until used. The
adapter connects ``release_task_connections`` to Celery's ``task_postrun`` in a patched
worker (the bootstep does too, for every pool); the hazard hook finds ``django.db``
imported before patching.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from celery_poolkit.model import Call, Effect, Green, PatchHazard, Pool
from celery_poolkit.plugins._rows import DBAPI_CURSOR, cpu, ctor, each
from celery_poolkit.plugins.base import PATCH_FIRST, Plugin

__all__ = ["PLUGIN", "release_task_connections"]


def __getattr__(name: str) -> object:
    # Lazy: the task-end hook imports logging (and so threading), which importing the
    # knowledge table must not do before monkey patching.
    if name == "release_task_connections":
        from celery_poolkit.plugins.django.tasks import release_task_connections

        return release_task_connections
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_QS = "django.db.models.QuerySet"
_ORM = (
    "the driver decides: psycopg2 needs poolkit's wait callback, psycopg 3 a late-enough "
    "import (poolkit checks), mysqlclient blocks the hub, PyMySQL is cooperative"
)
_CURSOR = "django.db.backends.utils.CursorWrapper"
_MAIL = "django.core.mail"


def _orm(qualname: str, returns: str = "") -> Call:
    return Call(qualname, Effect.DB_IO, Green.NEEDS_ADAPTER, returns=returns, note=_ORM)


_MODEL = "django.db.models.Model"
_MANAGER = "django.db.models.Manager"
#: The ORM calls that return one model instance, not a queryset: what they return is an
#: instance of the model they were called through (``Order.objects.get()`` is an Order).
_ONE = ("get", "first", "last", "create", "earliest", "latest")
#: Model classes Django ships: a project model or a queryset reached through them is the ORM.
_CONTRIB_MODELS = (
    "django.contrib.auth.models.AbstractUser",
    "django.contrib.auth.models.AbstractBaseUser",
    "django.contrib.auth.base_user.AbstractBaseUser",
    "django.contrib.auth.models.PermissionsMixin",
    "django.contrib.auth.models.User",
    "django.contrib.auth.models.Group",
    "django.contrib.auth.models.Permission",
    "django.contrib.contenttypes.models.ContentType",
    "django.contrib.sites.models.Site",
    "django.contrib.sessions.models.Session",
    "django.contrib.admin.models.LogEntry",
    "django.contrib.flatpages.models.FlatPage",
    "django.contrib.redirects.models.Redirect",
    "django.db.models.base.Model",
)
_CONTRIB_MANAGERS = (
    "django.contrib.auth.models.UserManager",
    "django.contrib.auth.base_user.BaseUserManager",
    "django.db.models.manager.Manager",
)


#: What Django's mail functions do, by the ``EMAIL_BACKEND`` the settings name (the
#: longest matching prefix wins): without a setting, or with SMTP, they are network IO.
#: Backends with no effect are development and test settings: listed, never applied.
EMAIL_BACKENDS: tuple[tuple[str, Effect | None, str], ...] = (
    ("django.core.mail.backends.smtp", Effect.NET_IO, "SMTP backend: smtplib"),
    ("django.core.mail.backends.console", None, "console backend: writes to stdout"),
    ("django.core.mail.backends.locmem", None, "locmem backend: kept in memory"),
    ("django.core.mail.backends.dummy", None, "dummy backend: discarded"),
    ("django.core.mail.backends.filebased", None, "file backend: a development setting"),
    ("post_office", Effect.DB_IO, "post_office backend: the mail is written as rows"),
    ("djcelery_email", Effect.BROKER_IO, "celery-email backend: the mail is sent by a task"),
    ("anymail", Effect.NET_IO, "anymail backend: an HTTPS request to the provider"),
    ("django_ses", Effect.NET_IO, "SES backend: an HTTPS request (boto3)"),
    ("sendgrid_backend", Effect.NET_IO, "SendGrid backend: an HTTPS request"),
)
#: The calls whose effect is the configured backend's.
MAIL_CALLS: tuple[str, ...] = (
    *(
        f"{_MAIL}.{name}"
        for name in ("send_mail", "send_mass_mail", "mail_admins", "mail_managers")
    ),
    f"{_MAIL}.EmailMessage.send",
    f"{_MAIL}.backends.base.BaseEmailBackend.send_messages",
)


PLUGIN = Plugin(
    name="django",
    modules=("django",),
    distributions=("Django",),
    summary="Django ORM (driver-dependent), cache, e-mail and templates.",
    calls=(
        _orm("django.db.models.Model.objects.*", _QS),
        _orm("django.db.models.Model._default_manager.*", _QS),
        _orm("django.db.models.Model._base_manager.*", _QS),
        _orm(f"{_MANAGER}.*", _QS),
        _orm(f"{_QS}.*", _QS),
        _orm("django.db.models.query.QuerySet.*", _QS),
        *(
            _orm(f"{owner}.{name}", _MODEL)
            for owner in (f"{_MODEL}.objects", f"{_MODEL}._default_manager", _MANAGER, _QS)
            for name in _ONE
        ),
        _orm("django.shortcuts.get_object_or_404", _MODEL),
        _orm("django.shortcuts.get_list_or_404"),
        # The user model and models looked up by name are models, whichever they are.
        ctor("django.contrib.auth.get_user_model", _MODEL),
        ctor("django.apps.apps.get_model", _MODEL),
        *(ctor(name, _MODEL) for name in _CONTRIB_MODELS),
        *(ctor(name, _MANAGER) for name in _CONTRIB_MANAGERS),
        *(
            _orm(f"django.db.models.Model.{name}")
            for name in ("save", "delete", "refresh_from_db", "full_clean", "validate_unique")
        ),
        Call("django.db.connection.cursor", None, Green.SAFE, returns=_CURSOR),
        *each(
            _CURSOR,
            DBAPI_CURSOR,
            Effect.DB_IO,
            Green.NEEDS_ADAPTER,
            note=_ORM,
        ),
        _orm("django.db.transaction.atomic"),
        Call(
            "django.core.cache.cache.*",
            Effect.DB_IO,
            note="the cache backend decides: redis/pymemcache are cooperative, pylibmc blocks",
        ),
        *each(
            _MAIL,
            ("send_mail", "send_mass_mail", "mail_admins", "mail_managers"),
            Effect.NET_IO,
            note="SMTP backend: smtplib, cooperative after patching",
        ),
        ctor(f"{_MAIL}.EmailMessage", f"{_MAIL}.EmailMessage"),
        ctor(f"{_MAIL}.EmailMultiAlternatives", f"{_MAIL}.EmailMessage"),
        Call(f"{_MAIL}.EmailMessage.send", Effect.NET_IO),
        ctor(f"{_MAIL}.get_connection", f"{_MAIL}.backends.base.BaseEmailBackend"),
        *each(f"{_MAIL}.backends.base.BaseEmailBackend", ("open", "send_messages"), Effect.NET_IO),
        Call(
            "django.core.management.call_command",
            None,
            Green.SAFE,
            note="runs a management command: a project command is followed to its handle()",
        ),
        cpu("django.template.loader.render_to_string", "template rendering is pure Python"),
        Call(
            "django.core.files.storage.default_storage.*",
            Effect.FILE_IO,
            note="network IO with a remote backend (django-storages: S3, GCS, Azure)",
        ),
    ),
    hazards="celery_poolkit.plugins.django:hazards",
    adapter="celery_poolkit.plugins.django.tasks:connect_task_release_when_patched",
)


def hazards(pool: Pool) -> Iterator[PatchHazard]:
    """Before patching: ``django.db.connections`` keeps a native thread-local."""
    db = sys.modules.get("django.db")
    storage = getattr(getattr(getattr(db, "connections", None), "_connections", None),
                      "_storage", None)  # fmt: skip
    if storage is not None and type(storage).__module__ in ("_thread", "_threading_local"):
        yield PatchHazard(
            "django-connections",
            "django.db",
            "django.db.connections keeps its connections in a native thread-local made "
            "at import: every greenlet shares ONE connection and transaction.",
            f"import Django (django.setup()) after patching; {PATCH_FIRST}",
        )
