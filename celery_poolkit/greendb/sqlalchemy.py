"""SQLAlchemy under gevent: green engine pools, and sessions that survive a gevent.Timeout.

SQLAlchemy needs no adapter of its own. Its ``QueuePool`` creates a ``threading.RLock``
and ``Condition`` per engine, so an engine created *after* monkey patching waits
cooperatively; one created before (at import of a module that builds the engine at top
level, imported before patching) blocks the hub when the pool is exhausted.
:func:`engine_is_green` tells which one you have.

The driver still has to be green (psycopg2 with poolkit's wait callback, or psycopg 3
imported after patching). And a ``gevent.Timeout`` is a ``BaseException``: it can stop a
connection mid-protocol. SQLAlchemy invalidates the connection when the pool sees such an
exception (since 1.1, and race-free since 1.4.46, sqlalchemy#8974), but a ``Session``
holding the connection only learns of it when told: :func:`invalidate_on_interrupt` does
what the ``Session.invalidate()`` docs recommend (``except gevent.Timeout:
sess.invalidate(); raise``) for every interruption.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["engine_is_green", "invalidate_on_interrupt"]

S = TypeVar("S")


@contextlib.contextmanager
def invalidate_on_interrupt(session: S) -> Iterator[S]:
    """``with invalidate_on_interrupt(Session(engine)) as session:`` -- when the block is
    interrupted by anything that is not an ``Exception`` (``gevent.Timeout``,
    ``GreenletExit``, ``KeyboardInterrupt``), the session's connections are invalidated:
    closed and dropped from the pool, never handed to the next task half-used. Ordinary
    exceptions propagate untouched (roll back as usual).

    Like ``with Session(engine) as session:``, the session is closed when the block ends,
    so its connection goes back to the pool (without this, the connection stayed checked
    out until the session was garbage-collected).
    """
    interrupted = False
    try:
        yield session
    except Exception:
        raise
    except BaseException:
        interrupted = True
        # invalidate() itself may talk to the driver; an error there must not replace
        # the interruption that is propagating.
        with contextlib.suppress(Exception):
            session.invalidate()  # type: ignore[attr-defined]
        raise
    finally:
        if not interrupted:
            session.close()  # type: ignore[attr-defined]


def engine_is_green(engine: Any) -> bool:
    """True when ``engine``'s connection pool waits with gevent's locks (it was created
    after monkey patching) or has nothing to wait for (``NullPool``)."""
    queue = getattr(engine.pool, "_pool", None)
    mutex = getattr(queue, "mutex", None)
    if mutex is None:  # NullPool, StaticPool...: no checkout wait at all
        return True
    # After patching, threading.RLock() is the pure-Python RLock around a gevent lock.
    lock = getattr(mutex, "_block", mutex)
    return type(lock).__module__.startswith("gevent")
