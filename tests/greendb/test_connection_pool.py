"""ConnectionPool: the cap, the timeout, BaseException safety, discards and stats.

Plain threads run in this process; the gevent runs are subprocesses, because monkey
patching is process-wide and cannot be undone.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from celery_poolkit.errors import PoolkitError
from celery_poolkit.greendb.connection_pool import (
    ConnectionPool,
    ConnectionPoolStats,
    ConnectionPoolTimeout,
)
from harness.pyjson import run_json


@dataclass
class Conn:
    n: int
    broken: bool = False
    closed: bool = False


@dataclass
class Factory:
    """Makes Conns, counts them, can be slow or fail; records the most open at once."""

    delay: float = 0.0
    fail: BaseException | None = None
    made: int = 0
    open_now: int = 0
    most_open: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self) -> Conn:
        with self.lock:
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            with self.lock:
                self.open_now -= 1
            raise self.fail
        with self.lock:
            self.made += 1
            return Conn(self.made)

    def close(self, conn: Conn) -> None:
        conn.closed = True
        with self.lock:
            self.open_now -= 1


def make(factory: Factory, **kwargs: object) -> ConnectionPool[Conn]:
    options: dict[str, object] = {"max_size": 3, "timeout": 5.0, "name": "test"}
    options.update(kwargs)
    return ConnectionPool(
        factory.connect, close=factory.close,
        check=lambda c: not c.broken, **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_reuses_idle_connections_lifo() -> None:
    factory = Factory()
    pool = make(factory)
    a, b = pool.getconn(), pool.getconn()
    pool.putconn(a)
    pool.putconn(b)
    assert pool.getconn() is b  # most recently returned first
    assert factory.made == 2
    assert pool.stats() == ConnectionPoolStats(
        name="test", max_size=3, in_use=1, idle=1, connecting=0, waiting=0,
        created=2, discarded=0, timeouts=0,
    )  # fmt: skip


def test_checkout_timeout_names_pool_and_size() -> None:
    pool = make(Factory(), max_size=2, timeout=0.05)
    pool.getconn(), pool.getconn()
    with pytest.raises(ConnectionPoolTimeout) as caught:
        pool.getconn()
    message = str(caught.value)
    assert "pool 'test' (max_size=2)" in message
    assert "Raise max_size" in message
    assert isinstance(caught.value, PoolkitError)
    assert pool.stats().timeouts == 1
    with pytest.raises(ConnectionPoolTimeout):
        pool.getconn(timeout=0)  # a per-call timeout overrides the pool's


def test_a_waiter_gets_the_connection_given_back() -> None:
    pool = make(Factory(), max_size=1, timeout=10)
    held = pool.getconn()
    got: list[Conn] = []
    waiter = threading.Thread(target=lambda: got.append(pool.getconn()))
    waiter.start()
    deadline = time.monotonic() + 10
    while pool.stats().waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert pool.stats().waiting == 1
    pool.putconn(held)
    waiter.join(10)
    assert got == [held]


def test_cap_holds_under_racing_threads() -> None:
    """django-db-geventpool #96: a slow connect let every caller pass the size check."""
    factory = Factory(delay=0.02)
    pool = make(factory, max_size=4, timeout=30)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                with pool.connection():
                    time.sleep(0.001)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert factory.most_open <= 4
    stats = pool.stats()
    assert stats.created <= 4
    assert stats.in_use == 0
    assert stats.idle == stats.created


@pytest.mark.parametrize("error", [RuntimeError("refused"), KeyboardInterrupt()])
def test_a_failed_connect_gives_its_slot_back(error: BaseException) -> None:
    factory = Factory(fail=error)
    pool = make(factory, max_size=1)
    with pytest.raises(type(error)):
        pool.getconn()
    assert pool.stats().connecting == 0
    factory.fail = None
    assert pool.getconn().n == 1  # the slot is free again, no timeout


def test_broken_idle_connections_are_discarded_at_checkout() -> None:
    factory = Factory()
    pool = make(factory, max_size=2)
    a = pool.getconn()
    pool.putconn(a)
    a.broken = True
    b = pool.getconn()
    assert b is not a
    assert a.closed
    assert pool.stats().discarded == 1
    assert pool.stats().in_use == 1


def test_check_that_raises_counts_as_broken() -> None:
    factory = Factory()

    def check(conn: Conn) -> bool:
        raise OSError("bad fd")

    pool = ConnectionPool(factory.connect, close=factory.close, check=check, max_size=1)
    pool.putconn(pool.getconn())
    assert pool.getconn().n == 2
    assert pool.stats().discarded == 1


def test_reset_failure_discards_and_interruption_propagates() -> None:
    factory = Factory()
    calls: list[BaseException | None] = [None]

    def reset(conn: Conn) -> None:
        if calls[0] is not None:
            raise calls[0]

    pool = ConnectionPool(factory.connect, close=factory.close, reset=reset, max_size=1)
    a = pool.getconn()
    calls[0] = ValueError("rollback failed")
    pool.putconn(a)  # swallowed: a broken connection is simply not reused
    assert a.closed
    assert pool.stats().discarded == 1
    assert pool.stats().in_use == 0
    b = pool.getconn()
    calls[0] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        pool.putconn(b)
    assert b.closed
    assert pool.stats().in_use == 0


def test_connection_context_discards_on_base_exception_only() -> None:
    factory = Factory()
    pool = make(factory)
    with pytest.raises(ValueError, match="ordinary"), pool.connection() as a:
        raise ValueError("ordinary")
    assert not a.closed
    assert pool.stats().idle == 1

    class Interrupt(BaseException):
        pass

    with pytest.raises(Interrupt), pool.connection() as b:
        raise Interrupt
    assert b is a
    assert b.closed
    assert pool.stats().discarded == 1
    assert pool.stats().in_use == 0


def test_lost_connections_are_reaped_later() -> None:
    factory = Factory()
    pool = make(factory, max_size=1, timeout=0.05)
    a = pool.getconn()
    pool.lost(a)
    b = pool.getconn()  # no ConnectionPoolTimeout: the lost one's slot came back
    assert a.closed
    assert b is not a
    assert pool.stats().discarded == 1


def test_close_closes_idle_now_and_busy_on_return() -> None:
    factory = Factory()
    pool = make(factory)
    a, b = pool.getconn(), pool.getconn()
    pool.putconn(a)
    pool.close()
    assert a.closed
    assert not b.closed
    pool.putconn(b)
    assert b.closed
    with pytest.raises(PoolkitError, match="closed"):
        pool.getconn()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_size": 0}, "max_size must be an integer >= 1"),
     ({"max_size": True}, "max_size"),
     ({"timeout": -1}, "timeout must be a number >= 0")],
)  # fmt: skip
def test_bad_arguments_say_what_is_wrong(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(Factory(), **kwargs)


GEVENT_RACE = textwrap.dedent(
    """
    from gevent import monkey; monkey.patch_all()
    import json, time, gevent
    from celery_poolkit.greendb.connection_pool import ConnectionPool, ConnectionPoolTimeout
    state = {"open": 0, "most": 0}
    def connect():
        state["open"] += 1
        state["most"] = max(state["most"], state["open"])
        try:
            time.sleep(0.01)  # patched: yields to every other greenlet
        except BaseException:  # a Timeout while connecting: the half-open socket is gone
            state["open"] -= 1
            raise
        return object()
    def close(conn):
        state["open"] -= 1
    pool = ConnectionPool(connect, close=close, max_size=5, timeout=5, name="g")
    def work(i):
        with pool.connection():
            time.sleep(0.002)
    gevent.joinall([gevent.spawn(work, i) for i in range(300)], timeout=60)
    # gevent.Timeout while waiting for a slot and while holding one: nothing leaks.
    held = [pool.getconn() for _ in range(5)]
    try:
        with gevent.Timeout(0.05):
            pool.getconn()
    except gevent.Timeout:
        pass
    for c in held:
        pool.putconn(c)
    def interrupted():
        with gevent.Timeout(0.01), pool.connection():
            time.sleep(1)
    gevent.joinall([gevent.spawn(interrupted) for _ in range(20)], timeout=30)
    try:
        [pool.getconn(timeout=0.05) for _ in range(6)]
    except ConnectionPoolTimeout as exc:
        timeout_message = str(exc)
    lock = pool._cond._lock
    lock = getattr(lock, "_block", lock)  # gevent's RLock wraps one of its locks
    print(json.dumps({"most": state["most"], "stats": pool.stats().__repr__(),
                      "lock": type(lock).__module__, "message": timeout_message}))
    """
)


def test_cap_and_interruptions_under_gevent() -> None:
    out = run_json("-c", GEVENT_RACE)
    assert out["most"] <= 5, out
    assert out["lock"].startswith("gevent"), out  # built after patching: green locks
    # 20 interrupted holders were discarded; the 6th checkout of 5 slots timed out.
    assert "in_use=5" in out["stats"], out
    assert "waiting=0" in out["stats"], out
    assert "pool 'g' (max_size=5)" in out["message"]


GEVENT_TIMEOUT_STORM = textwrap.dedent(
    """
    from gevent import monkey; monkey.patch_all()
    import json, random, time, gevent
    from gevent.pool import Pool
    from celery_poolkit.greendb.connection_pool import ConnectionPool
    random.seed(5)
    pool = ConnectionPool(lambda: time.sleep(0.003) or object(), close=lambda c: None,
                     max_size=5, timeout=30, name="storm")
    outcomes = {}
    def task():
        try:
            with gevent.Timeout(random.choice([0.001, 0.003, 0.006, 0.012, 0.5, None])):
                with pool.connection():
                    time.sleep(0.004)
            outcome = "ok"
        except gevent.Timeout:
            outcome = "timeout"
        except BaseException as exc:
            outcome = repr(exc)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    workers = Pool(50)
    for _ in range(3000):
        workers.spawn(task)
    workers.join(timeout=120)
    s = pool.stats()
    print(json.dumps({"outcomes": outcomes, "in_use": s.in_use, "connecting": s.connecting,
                      "waiting": s.waiting, "idle": s.idle}))
    """
)


def test_timeouts_while_waiting_and_connecting_never_corrupt_the_accounting() -> None:
    """A storm of gevent.Timeouts hitting greenlets in every state (waiting for a slot,
    connecting, holding). With a Lock-based Condition, gevent yielded inside the critical
    section and this leaked reservations and over-released the lock."""
    out = run_json("-c", GEVENT_TIMEOUT_STORM, timeout=180)
    assert set(out["outcomes"]) <= {"ok", "timeout"}, out
    assert sum(out["outcomes"].values()) == 3000, out
    assert out["outcomes"]["timeout"] >= 100, out
    assert (out["in_use"], out["connecting"], out["waiting"]) == (0, 0, 0), out
    assert out["idle"] <= 5, out


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)


class _Interrupted(BaseException):
    """Like gevent.Timeout: not an Exception, raised where the connect waits."""


class _HalfMade:
    pass


def test_an_interrupted_connect_frees_its_half_made_connection_at_once() -> None:
    # A driver's wait callback holds the connection it waits on; the interruption's
    # traceback keeps that frame, and ``with gevent.Timeout(...)`` keeps the traceback in
    # a reference cycle: without the collector, the connection (a socket, a server
    # backend) lived on after its slot was given back.
    import gc
    import weakref

    made: list[weakref.ref[_HalfMade]] = []

    def wait(conn: _HalfMade) -> None:
        raise _Interrupted

    def connect() -> _HalfMade:
        conn = _HalfMade()
        made.append(weakref.ref(conn))
        wait(conn)
        return conn

    pool = ConnectionPool(connect, close=lambda c: None, max_size=1)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        held: list[BaseException] = []
        try:
            pool.getconn()
        except _Interrupted as exc:
            held.append(exc)  # a cycle-like keep-alive: the exception stays referenced
        assert made[0]() is None  # freed by reference counting, no collection needed
        assert pool.stats().connecting == 0
    finally:
        if was_enabled:
            gc.enable()
