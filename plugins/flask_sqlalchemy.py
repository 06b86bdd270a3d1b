"""Flask-SQLAlchemy: ``db = SQLAlchemy(app)``, ``db.session`` and ``Model.query``.

**Knows:** ``SQLAlchemy()`` (no IO), ``db.session`` (the scoped ORM session: ``execute``,
``scalars``, ``get``, ``commit``, ``flush`` … are round trips, ``add`` / ``delete`` only
stage), ``db.engine`` / ``db.engine.connect()``, models on ``db.Model`` and their legacy
``Model.query`` (``User.query.filter_by(...).first()``: a ``Query``, evaluated in the
task), ``db.get_or_404`` / ``first_or_404`` / ``paginate``, ``db.create_all`` /
``drop_all``.

**Under gevent:** it is SQLAlchemy underneath: the DBAPI driver decides (psycopg2 needs
poolkit's adapter, PyMySQL is cooperative after patching, mysqlclient blocks the hub).
``db.session`` is a ``scoped_session`` keyed on the app context, so each greenlet or
thread that pushes its own app context gets its own session.

**Fix:** push an app context per task (``with app.app_context():``) and remove the
session at its end; pick the driver for the pool as for SQLAlchemy.

**Sources:** Flask-SQLAlchemy 3.1 docs ("Quick Start", "Modifying and Querying Data",
"Legacy Query Interface", "Flask Application Context"); SQLAlchemy 2.0 docs
(Session basics).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin
from celery_poolkit.plugins.sqlalchemy import SESSION_ROUND_TRIPS, session_staging

_DB = "flask_sqlalchemy.SQLAlchemy"
_SESSION = f"{_DB}.session"
_MODEL = "flask_sqlalchemy.model.Model"
_QUERY = "flask_sqlalchemy.query.Query"
_NOTE = "SQLAlchemy underneath: the DBAPI driver decides greenness"


def _db(owner: str, names: tuple[str, ...], returns: str = "") -> tuple[Call, ...]:
    return each(owner, names, Effect.DB_IO, Green.NEEDS_ADAPTER, returns=returns, note=_NOTE)


PLUGIN = Plugin(
    name="flask_sqlalchemy",
    modules=("flask_sqlalchemy",),
    distributions=("Flask-SQLAlchemy",),
    summary="Flask-SQLAlchemy: db.session and Model.query are SQLAlchemy database IO.",
    calls=(
        ctor(_DB, _DB, "no IO: binds to the app's config"),
        ctor(f"{_DB}.Model", _MODEL, "the declarative base of the app's models"),
        *_db(_SESSION, SESSION_ROUND_TRIPS),
        *session_staging(_SESSION, ("remove", "close")),
        *_db(_SESSION, ("query",), _QUERY),
        *_db(
            _DB, ("get_or_404", "first_or_404", "one_or_404", "paginate", "create_all", "drop_all")
        ),
        *_db(f"{_DB}.engine", ("connect", "begin", "dispose")),
        Call(
            f"{_MODEL}.query.*",
            Effect.DB_IO,
            Green.NEEDS_ADAPTER,
            returns=_QUERY,
            note="legacy Model.query: a Query built and evaluated in the task",
        ),
        Call(f"{_QUERY}.*", Effect.DB_IO, Green.NEEDS_ADAPTER, returns=_QUERY, note=_NOTE),
    ),
)
