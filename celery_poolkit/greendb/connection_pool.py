"""A bounded, driver-agnostic connection pool that is safe for green threads.

Why not the pools that exist: django-db-geventpool (the usual answer under gevent) waits
forever when the pool is exhausted (its issues #77, #90: Celery tasks hang) and checks
its size and adds the new connection in two steps with a yielding connect in between, so
a burst of greenlets all pass the check and overshoot ``MAX_CONNS`` (#96). psycopg2's
own ``ThreadedConnectionPool`` never waits at all ("connection pool exhausted").

This pool:

* never holds more than ``max_size`` connections: a slot is *reserved* under the lock
  before the (yielding) connect starts, and given back if the connect fails;
* waits at most ``timeout`` seconds for a slot, then raises :class:`ConnectionPoolTimeout`
  naming the pool and its size;
* treats every ``BaseException`` (``gevent.Timeout``, ``GreenletExit``,
  ``KeyboardInterrupt``) at checkout and check-in as "this slot is no longer ours":
  the reservation or the connection is given back, never leaked;
* discards broken connections (a cheap, round-trip-free ``check`` at checkout, a
  ``reset`` at check-in) and counts them.

It knows nothing about any driver: ``connect``, ``close``, ``check`` and ``reset`` are
callables. The locks are ``threading`` ones looked up when the pool is built, so a pool
built after gevent's monkey patching uses gevent's (cooperative) locks and one built in a
plain threaded process uses real ones; both are correct.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from celery_poolkit.errors import PoolkitError

__all__ = ["ConnectionPool", "ConnectionPoolStats", "ConnectionPoolTimeout", "live_pools"]

C = TypeVar("C")

#: Every pool alive in this process, so the worker's metrics find them wherever they were
#: built (a Django backend, a user's pg_pool()); weak, so it never keeps one alive.
_LIVE: weakref.WeakSet[ConnectionPool[Any]] = weakref.WeakSet()


def live_pools() -> tuple[ConnectionPool[Any], ...]:
    """The connection pools alive in this process, by name."""
    return tuple(sorted(_LIVE, key=lambda pool: pool.name))


class ConnectionPoolTimeout(PoolkitError):
    """No connection became free within the checkout timeout."""

    def __init__(self, name: str, max_size: int, timeout: float, waiting: int) -> None:
        self.name = name
        self.max_size = max_size
        self.timeout = timeout
        super().__init__(
            f"pool {name!r} (max_size={max_size}) had no free connection after "
            f"{timeout:g}s ({waiting} other caller(s) waiting): every connection is in use. "
            f"Raise max_size (keep it below the server's max_connections divided by the "
            f"number of worker processes), lower the worker's concurrency, or make sure "
            f"every task returns its connection when it ends."
        )


@dataclass(frozen=True, slots=True)
class ConnectionPoolStats:
    """A snapshot of a pool's accounting; ``size`` is ``in_use + idle + connecting``."""

    name: str
    max_size: int
    in_use: int
    idle: int
    connecting: int
    waiting: int
    created: int
    discarded: int
    timeouts: int

    @property
    def size(self) -> int:
        return self.in_use + self.idle + self.connecting


class ConnectionPool(Generic[C]):
    """At most ``max_size`` connections made by ``connect``, shared by green (or real) threads.

    ``connect()`` opens a connection. ``close(conn)`` closes one and must not raise for a
    broken connection (its errors are ignored). ``check(conn)`` runs at checkout on an idle
    connection and must be cheap (no round trip): ``False`` or an exception discards it.
    ``reset(conn)`` runs at check-in (roll back an open transaction, say); an exception
    discards the connection.
    """

    def __init__(
        self,
        connect: Callable[[], C],
        *,
        close: Callable[[C], None],
        max_size: int = 10,
        timeout: float = 30.0,
        check: Callable[[C], bool] | None = None,
        reset: Callable[[C], None] | None = None,
        name: str = "pool",
    ) -> None:
        if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 1:
            raise ValueError(f"pool {name!r}: max_size must be an integer >= 1, not {max_size!r}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0:
            raise ValueError(f"pool {name!r}: timeout must be a number >= 0, not {timeout!r}")
        self.name = name
        self.max_size = max_size
        self.timeout = float(timeout)
        self._connect = connect
        self._close = close
        self._check = check
        self._reset = reset
        # Looked up now, not at import: see the module docstring. An RLock, not a Lock:
        # Condition.wait()/notify() check ownership with lock._is_owned() when the lock
        # has it (RLock does), and otherwise probe with acquire(False) -- which gevent's
        # Lock answers by *yielding* when the lock is taken. That yield, inside our
        # critical section, let other greenlets block on the lock, and a gevent.Timeout
        # thrown into one of them while blocked there corrupted the accounting (a
        # reservation never returned; "Semaphore released too many times").
        self._cond = threading.Condition(threading.RLock())
        # LIFO: the most recently used connection is the likeliest to still be alive, and
        # the ones at the bottom are the ones a future max_idle could close.
        self._idle: deque[C] = deque()
        self._in_use = 0
        self._connecting = 0
        self._waiting = 0
        self._created = 0
        self._discarded = 0
        self._timeouts = 0
        self._closed = False
        # Connections whose holder vanished without giving them back (see lost()).
        self._lost: deque[C] = deque()
        _LIVE.add(self)

    # -- checkout ----------------------------------------------------------------------

    def getconn(self, timeout: float | None = None) -> C:
        """A connection for the caller's exclusive use; give it back with :meth:`putconn`.

        Raises :class:`ConnectionPoolTimeout` when none is free within ``timeout`` (the pool's own
        timeout when ``None``).
        """
        self._reap()
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            conn, must_connect = self._take_slot(deadline, limit)
            if must_connect:
                return self._open_reserved()
            try:
                usable = self._usable(conn)
            except BaseException:
                # Interrupted between taking the connection and handing it over: nobody
                # owns it, so it goes back (the check never touched the protocol).
                self.putconn(conn)  # type: ignore[arg-type]
                raise
            if usable:
                return conn  # type: ignore[return-value]
            # Broken while idle (server restarted, idle timeout): drop it and try again,
            # within the same deadline; its slot is free now, so the next round connects.
            self._discard_in_use(conn)  # type: ignore[arg-type]

    def _take_slot(self, deadline: float, limit: float) -> tuple[C | None, bool]:
        """Under the lock: an idle connection, or a reserved slot to connect into."""
        with self._cond:
            while True:
                if self._closed:
                    raise PoolkitError(
                        f"pool {self.name!r} is closed (close() was called); build a new "
                        f"pool to get connections again"
                    )
                if self._idle:
                    self._in_use += 1
                    return self._idle.pop(), False
                if self._in_use + self._connecting + len(self._idle) < self.max_size:
                    # The reservation is what makes the cap atomic: it is counted before
                    # the connect yields to other greenlets.
                    self._connecting += 1
                    return None, True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._timeouts += 1
                    raise ConnectionPoolTimeout(self.name, self.max_size, limit, self._waiting)
                self._waiting += 1
                try:
                    self._cond.wait(remaining)
                except BaseException:
                    # We may have been notified just before the interruption: pass the
                    # wake-up on, or a free slot could sit unused until a timeout.
                    self._cond.notify()
                    raise
                finally:
                    self._waiting -= 1

    def _open_reserved(self) -> C:
        try:
            conn = self._connect()
        except BaseException as exc:
            # The half-made connection of an interrupted connect lives on in the finished
            # frames of the traceback (a driver's wait callback holds it), and ``with
            # gevent.Timeout(...)`` keeps that traceback in a reference cycle: its socket,
            # and the server's backend, could outlive the slot given back until the
            # collector ran. Cleared, it is closed now.
            traceback.clear_frames(exc.__traceback__)
            # A failed or interrupted connect gives its reservation back, so a waiter
            # can try; otherwise each failure would shrink the pool for good.
            with self._cond:
                self._connecting -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._connecting -= 1
            self._in_use += 1
            self._created += 1
        return conn

    def _usable(self, conn: C | None) -> bool:
        if self._check is None:
            return True
        try:
            return bool(self._check(conn))  # type: ignore[arg-type]
        except Exception:
            return False

    # -- check-in ----------------------------------------------------------------------

    def putconn(self, conn: C, *, discard: bool = False) -> None:
        """Give back a connection from :meth:`getconn`; ``discard`` closes it instead.

        Safe to call from ``finally`` and ``except BaseException`` blocks: an interruption
        while resetting the connection discards it, and the slot is always released.
        """
        if not discard and self._reset is not None:
            try:
                self._reset(conn)
            except Exception:
                discard = True  # it could not be reset: broken, so never lent again
            except BaseException:
                # A reset interrupted half-way leaves the connection in an unknown state.
                self._discard_in_use(conn)
                raise
        if discard:
            self._discard_in_use(conn)
            return
        with self._cond:
            self._in_use -= 1
            if self._closed:
                keep = False
            else:
                self._idle.append(conn)
                keep = True
            self._cond.notify()
        if not keep:
            self._quiet_close(conn)

    def _discard_in_use(self, conn: C) -> None:
        with self._cond:
            self._in_use -= 1
            self._discarded += 1
            self._cond.notify()
        self._quiet_close(conn)

    def lost(self, conn: C) -> None:
        """Report a checked-out connection whose holder is gone (garbage collected
        without calling :meth:`putconn`); it is discarded at the next checkout.

        Safe from a ``weakref.finalize`` callback, which may run at any point, even inside
        this pool's own lock: it only appends to a deque, and the lock-taking clean-up
        happens later, in :meth:`getconn` or :meth:`stats`.
        """
        self._lost.append(conn)

    def _reap(self) -> None:
        while self._lost:
            try:
                conn = self._lost.popleft()
            except IndexError:  # another thread reaped it first
                return
            self._discard_in_use(conn)

    def _quiet_close(self, conn: C) -> None:
        with contextlib.suppress(Exception):
            self._close(conn)

    @contextlib.contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[C]:
        """``with pool.connection() as conn:`` -- returned on success, discarded when the
        block raises anything that is not an ``Exception`` (``gevent.Timeout``,
        ``GreenletExit``): the driver may have been interrupted mid-protocol."""
        conn = self.getconn(timeout)
        try:
            yield conn
        except Exception:
            self.putconn(conn)
            raise
        except BaseException:
            self.putconn(conn, discard=True)
            raise
        else:
            self.putconn(conn)

    # -- the rest ----------------------------------------------------------------------

    def stats(self) -> ConnectionPoolStats:
        self._reap()
        with self._cond:
            return ConnectionPoolStats(
                name=self.name,
                max_size=self.max_size,
                in_use=self._in_use,
                idle=len(self._idle),
                connecting=self._connecting,
                waiting=self._waiting,
                created=self._created,
                discarded=self._discarded,
                timeouts=self._timeouts,
            )

    def close(self) -> None:
        """Close the idle connections now and the checked-out ones when they come back."""
        with self._cond:
            self._closed = True
            idle = list(self._idle)
            self._idle.clear()
            self._cond.notify_all()
        for conn in idle:
            self._quiet_close(conn)

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"<ConnectionPool {self.name!r} max_size={s.max_size} in_use={s.in_use} "
            f"idle={s.idle} waiting={s.waiting}>"
        )
