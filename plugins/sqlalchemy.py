"""SQLAlchemy: engines, connections and ORM sessions; the DBAPI driver decides greenness.

**Knows:** ``create_engine`` (lazy: no connection yet), ``Engine.connect`` / ``begin`` /
``dispose``, ``Connection.execute`` / ``exec_driver_sql`` / ``scalar(s)`` / ``commit``,
``orm.Session`` (``execute``, ``scalars``, ``scalar``, ``get``, ``query``, ``commit``,
``flush``, ``refresh``, ``merge`` do round trips; ``add`` / ``add_all`` / ``delete`` only
stage until the flush), ``sessionmaker`` / ``scoped_session`` and legacy ``Query``.
A session reached through an attribute of a value whose class is unknown
(``request.db.query(...)``, ``self.session.commit()``) is recognised by its name
(``SESSION_NAMES``), as inferred evidence.

**Under gevent:** ``NEEDS_ADAPTER`` when the URL's driver is psycopg2 (libpq waits need
poolkit's wait callback) or psycopg 3 (cooperative only when imported after patching,
which poolkit's adapter checks); PyMySQL and pg8000 are pure Python, safe after patching;
mysqlclient (``mysql+mysqldb``) blocks the hub. Import SQLAlchemy after patching, so its
pool's ``queue``/``threading`` primitives are gevent's. A ``gevent.Timeout`` (a
``BaseException``) raised mid-query can leave a connection checked out and half-used
(SQLAlchemy #8974): invalidate the session on timeouts.

**Prefork:** an ``Engine`` created before fork shares its pooled sockets with every
child; call ``engine.dispose(close=False)`` in ``worker_process_init`` (SQLAlchemy docs,
"Using Connection Pools with Multiprocessing or os.fork()").

**Fix:** pick the driver for the pool (``postgresql+psycopg2`` + poolkit adapter, or
``mysql+pymysql``); bound ``pool_size`` + ``max_overflow`` below the gevent
concurrency's appetite.

**Sources:** SQLAlchemy 2.0 docs (Engine, Connection, Session basics, "Using Connection
Pools with Multiprocessing"); SQLAlchemy #3258, #8974; green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_ENGINE = "sqlalchemy.engine.Engine"
_CONN = "sqlalchemy.engine.Connection"
_SESSION = "sqlalchemy.orm.Session"
_DRIVER = "the DBAPI driver decides: psycopg needs poolkit's adapter, mysqlclient blocks"


#: The ORM session's methods that make a round trip, and those that only stage work until
#: the flush (shared with the tables of libraries built on the session: Flask-SQLAlchemy).
SESSION_ROUND_TRIPS = (
    "execute",
    "scalars",
    "scalar",
    "get",
    "commit",
    "flush",
    "refresh",
    "merge",
    "rollback",
    "connection",
)
SESSION_STAGING = ("add", "add_all", "delete", "expunge")


def session_staging(owner: str, extra: tuple[str, ...] = ()) -> tuple[Call, ...]:
    """``add`` / ``delete`` …: no IO until the flush."""
    note = "staged in the session; the IO happens at flush/commit"
    return each(owner, (*SESSION_STAGING, *extra), None, Green.SAFE, note=note)


#: Attribute names that, on a value of unknown class, read like an ORM session
#: (``request.db.query(...)``, ``self.dbsession.execute(...)``), and the session methods
#: that make a round trip: evidence inferred from the name, never ``high`` confidence.
SESSION_NAMES = frozenset({"db", "session", "dbsession", "db_session", "sa_session", "Session"})
SESSION_METHODS = frozenset(
    {"query", "execute", "scalars", "scalar", "get", "commit", "flush", "refresh", "merge"}
)


def _db(owner: str, names: tuple[str, ...], returns: str = "") -> tuple[Call, ...]:
    return each(owner, names, Effect.DB_IO, Green.NEEDS_ADAPTER, returns=returns, note=_DRIVER)


PLUGIN = Plugin(
    name="sqlalchemy",
    modules=("sqlalchemy",),
    distributions=("SQLAlchemy",),
    summary="SQLAlchemy Core and ORM: database IO whose greenness is the driver's.",
    calls=(
        ctor("sqlalchemy.create_engine", _ENGINE, "lazy: connects on first use"),
        ctor("sqlalchemy.engine.create_engine", _ENGINE),
        *_db(_ENGINE, ("connect", "begin"), _CONN),
        *_db(_ENGINE, ("dispose",)),
        *_db(
            _CONN,
            ("execute", "exec_driver_sql", "scalar", "scalars", "commit", "rollback"),
        ),
        ctor("sqlalchemy.orm.Session", _SESSION),
        ctor("sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.sessionmaker"),
        ctor("sqlalchemy.orm.sessionmaker.__call__", _SESSION),
        # ``with Session.begin() as session:`` commits when the block ends.
        *_db("sqlalchemy.orm.sessionmaker", ("begin",), _SESSION),
        ctor("sqlalchemy.orm.scoped_session", _SESSION),
        *_db(_SESSION, SESSION_ROUND_TRIPS),
        *session_staging(_SESSION),
        *_db(_SESSION, ("query",), "sqlalchemy.orm.Query"),
        Call(
            "sqlalchemy.orm.Query.*",
            Effect.DB_IO,
            Green.NEEDS_ADAPTER,
            returns="sqlalchemy.orm.Query",
            note="legacy Query: chainable and lazy, evaluated in the task",
        ),
    ),
)
