"""greendb's pure parts: DSN handling, install bookkeeping, psycopg 3 verdicts, Django
pool options, task-end release and SQLAlchemy invalidation. Real servers and workers are
in tests/greendb/."""

from __future__ import annotations

import sys
import textwrap
from types import SimpleNamespace
from typing import Any

import psycopg2
import psycopg2.extensions as ext
import pytest

from celery_poolkit.errors import DidNotEnable
from celery_poolkit.greendb import psycopg2 as green_psycopg2
from celery_poolkit.greendb import sqlalchemy as green_sqlalchemy
from celery_poolkit.greendb.pg_connection_pool import check_idle, reset_for_reuse
from harness.pyjson import run_json


@pytest.fixture
def no_pg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PGHOST", "PGHOSTADDR", "PGPORT", "PGCONNECT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_pg_env")
@pytest.mark.parametrize(
    ("dsn", "expected"),
    [("host=db port=5433", "5.6.7.8"),
     ("host=db,replica port=5433", "5.6.7.8,5.6.7.8"),
     ("host=127.0.0.1", None),
     ("host=/var/run/postgresql", None),
     ("host=db hostaddr=10.0.0.1", "10.0.0.1"),
     ("dbname=x", None)],
)  # fmt: skip
def test_host_names_are_resolved_to_hostaddr(
    monkeypatch: pytest.MonkeyPatch, dsn: str, expected: str | None
) -> None:
    seen: list[tuple[str, str]] = []

    def resolve(host: str, port: str) -> str:
        seen.append((host, port))
        return "5.6.7.8"

    monkeypatch.setattr(green_psycopg2, "_resolve", resolve)
    out = ext.parse_dsn(green_psycopg2._with_hostaddr(dsn))
    assert out.get("hostaddr") == expected
    if expected == "5.6.7.8":
        assert seen == [("db", "5433")]
        assert out["host"] == "db"  # kept, for TLS verification and .pgpass


@pytest.mark.usefixtures("no_pg_env")
@pytest.mark.parametrize(
    ("dsn", "seconds"),
    [("dbname=x", None), ("connect_timeout=0", None), ("connect_timeout=1", 2.0),
     ("connect_timeout=7", 7.0), ("connect_timeout=abc", None)],
)  # fmt: skip
def test_connect_timeout_follows_libpq(dsn: str, seconds: float | None) -> None:
    assert green_psycopg2._connect_timeout(dsn, None) == seconds
    # PGCONNECT_TIMEOUT applies when the dsn names none.
    fallback = seconds if "connect_timeout" in dsn else 5.0
    assert green_psycopg2._connect_timeout(dsn, "5") == fallback


def test_ip_literals_and_known_names_skip_the_resolver(
    monkeypatch: pytest.MonkeyPatch, no_pg_env: None
) -> None:
    """The common path of a connect-per-task worker: an IP literal never reaches gevent's
    resolver, and a name it resolved is reused for RESOLVE_TTL seconds; failures are not
    remembered."""
    import gevent.socket

    asked: list[str] = []
    now = [1000.0]

    def getaddrinfo(host: str, port: int, *args: Any) -> list[Any]:
        asked.append(host)
        if host == "gone":
            raise OSError("Name or service not known")
        return [(2, 1, 6, "", (f"10.0.0.{len(asked)}", port))]

    monkeypatch.setattr(gevent.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(green_psycopg2, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(green_psycopg2, "_addresses", {})

    def hostaddr(dsn: str) -> str | None:
        return ext.parse_dsn(green_psycopg2._with_hostaddr(dsn)).get("hostaddr")

    assert hostaddr("host=127.0.0.1 port=5432") is None
    assert hostaddr("host=::1") is None
    assert asked == []
    assert hostaddr("host=db") == "10.0.0.1"
    now[0] += green_psycopg2.RESOLVE_TTL / 2
    assert hostaddr("host=db port=5433") == "10.0.0.1"  # remembered
    assert asked == ["db"]
    now[0] += green_psycopg2.RESOLVE_TTL
    assert hostaddr("host=db") == "10.0.0.2"  # expired: asked again
    for _ in range(2):
        with pytest.raises(psycopg2.OperationalError, match='could not translate host name "gone"'):
            green_psycopg2._with_hostaddr("host=gone")
    assert asked == ["db", "db", "gone", "gone"]


def test_the_common_path_imports_nothing_and_parses_each_dsn_once(
    monkeypatch: pytest.MonkeyPatch, no_pg_env: None
) -> None:
    """What issue 17 measured as CPU per task, counted: the wait callback imported four
    names on every call and each connect parsed its dsn three times."""
    import builtins

    dsn = "host=127.0.0.1 port=5432 dbname=x"
    polls: list[int] = []
    waiting = SimpleNamespace(status=ext.STATUS_READY, poll=lambda: polls.append(1) or 0)
    connecting = SimpleNamespace(status=ext.STATUS_SETUP, poll=waiting.poll, dsn=dsn)
    for conn in (waiting, connecting):  # the first calls may import and cache
        green_psycopg2.green_wait_callback(conn)
        green_psycopg2._with_hostaddr(dsn)
    parsed: list[str] = []
    imported: list[str] = []
    real_parse, real_import = ext.parse_dsn, builtins.__import__
    with monkeypatch.context() as counting:
        counting.setattr(ext, "parse_dsn", lambda d: parsed.append(d) or real_parse(d))
        counting.setattr(
            builtins,
            "__import__",
            lambda name, *a, **k: imported.append(name) or real_import(name, *a, **k),
        )
        for _ in range(50):
            for conn in (waiting, connecting):
                green_psycopg2.green_wait_callback(conn)
            assert green_psycopg2._with_hostaddr(dsn) == dsn
    assert (imported, parsed, len(polls)) == ([], [], 102)


def test_remembered_names_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import gevent.socket

    monkeypatch.setattr(
        gevent.socket, "getaddrinfo", lambda host, port, *a: [(2, 1, 6, "", ("10.0.0.9", port))]
    )
    monkeypatch.setattr(green_psycopg2, "_addresses", {})
    for n in range(green_psycopg2._ADDRESSES_MAX + 10):
        green_psycopg2._resolve(f"host{n}", "5432")
    assert len(green_psycopg2._addresses) == green_psycopg2._ADDRESSES_MAX
    assert "host0" not in green_psycopg2._addresses  # the oldest went first


def test_install_rejects_unknown_pools_and_reports_missing_psycopg2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="expected one of gevent, eventlet"):
        green_psycopg2.install("threads")
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(DidNotEnable, match=r"celery-poolkit\[postgres\]"):
        green_psycopg2.install("gevent")


def test_install_and_uninstall_restore_what_was_there() -> None:
    original = psycopg2.connect
    assert ext.get_wait_callback() is None
    try:
        green_psycopg2.install("gevent")
        green_psycopg2.install("gevent")  # idempotent
        assert green_psycopg2.is_installed()
        assert ext.get_wait_callback() is green_psycopg2.green_wait_callback
        assert psycopg2.connect.__poolkit_original__ is original  # type: ignore[attr-defined]
        ext.set_wait_callback(None)  # someone else took it over
        assert not green_psycopg2.is_installed()
    finally:
        green_psycopg2.uninstall()
    assert psycopg2.connect is original
    assert ext.get_wait_callback() is None
    assert not green_psycopg2.is_installed()


def test_unsupported_error_is_a_programming_error_that_says_why() -> None:
    err = green_psycopg2.unsupported_error("COPY (cursor.copy_from)")
    assert isinstance(err, psycopg2.ProgrammingError)
    assert type(err).__name__ == "GreenModeUnsupported"
    assert "only work in blocking mode" in str(err)
    assert "psycopg 3" in str(err)


def fake_conn(**kw: Any) -> Any:
    calls: list[str] = []
    conn = SimpleNamespace(
        closed=kw.get("closed", 0), info=SimpleNamespace(transaction_status=kw.get("status", 0)),
        fileno=lambda: kw["fd"], rollback=lambda: calls.append("rollback"), calls=calls,
    )  # fmt: skip
    return conn


def test_check_idle_spots_a_readable_idle_socket() -> None:
    import socket

    a, b = socket.socketpair()
    try:
        assert check_idle(fake_conn(fd=a.fileno()))
        assert not check_idle(fake_conn(fd=a.fileno(), status=2))  # in a transaction
        assert not check_idle(fake_conn(fd=a.fileno(), closed=1))
        b.sendall(b"E")  # what a terminating server sends unasked
        assert not check_idle(fake_conn(fd=a.fileno()))
    finally:
        a.close()
        b.close()


def test_reset_rolls_back_or_refuses() -> None:
    conn = fake_conn(status=3)
    reset_for_reuse(conn)
    assert conn.calls == ["rollback"]
    for broken in (fake_conn(status=1), fake_conn(status=4), fake_conn(closed=2)):
        with pytest.raises(ConnectionError):
            reset_for_reuse(broken)


PSYCOPG_ORDER = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "before":
        import psycopg
    from gevent import monkey; monkey.patch_all()
    from celery_poolkit.greendb import psycopg as green
    first = green.check("gevent")
    import psycopg
    second = green.check("gevent")
    installed = green.install("gevent")
    print(json.dumps([first.imported, second.green, second.wait_function, second.reason,
                      installed.cancels_on_interrupt, green.check("eventlet").reason]))
    """
)


@pytest.mark.parametrize("order", ["before", "after"])
def test_psycopg3_check_explains_import_order(order: str) -> None:
    imported, green, wait, reason, cancels, eventlet = run_json("-c", PSYCOPG_ORDER, order)
    # "after": poolkit's adapter, run by gevent's plugin hook inside patch_all(), has
    # imported psycopg already, after patching: green.
    assert imported is True
    assert green is (order == "after")
    assert (wait == "wait_c") is (order == "before")
    if order == "before":
        assert "imported before gevent's monkey patching" in reason
    assert cancels is True
    assert "does not support eventlet" in eventlet


def test_psycopg3_install_refuses_eventlet() -> None:
    from celery_poolkit.greendb import psycopg as green

    with pytest.raises(DidNotEnable, match="does not support eventlet"):
        green.install("eventlet")


def test_invalidate_on_interrupt_only_for_base_exceptions() -> None:
    class Session:
        invalidated = 0
        closed = 0

        def invalidate(self) -> None:
            self.invalidated += 1
            raise RuntimeError("driver error while invalidating")

        def close(self) -> None:
            self.closed += 1

    session = Session()
    with (
        pytest.raises(ValueError, match="ordinary"),
        green_sqlalchemy.invalidate_on_interrupt(session),
    ):
        raise ValueError("ordinary")
    assert (session.invalidated, session.closed) == (0, 1)
    with pytest.raises(KeyboardInterrupt), green_sqlalchemy.invalidate_on_interrupt(session):
        raise KeyboardInterrupt  # not replaced by the RuntimeError from invalidate()
    assert (session.invalidated, session.closed) == (1, 1)  # invalidate() closed it
    with green_sqlalchemy.invalidate_on_interrupt(session):
        pass
    assert session.closed == 2  # like `with Session(engine)`: back to the pool at the end


def test_engine_is_green_false_before_patching() -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine("postgresql+psycopg2://u@127.0.0.1/db")
    assert green_sqlalchemy.engine_is_green(engine) is False
    null = sqlalchemy.create_engine(
        "postgresql+psycopg2://u@127.0.0.1/db", poolclass=sqlalchemy.pool.NullPool
    )
    assert green_sqlalchemy.engine_is_green(null) is True


EVENTLET = textwrap.dedent(
    """
    import json, warnings
    warnings.simplefilter("ignore")
    import eventlet
    eventlet.monkey_patch()
    import psycopg2, psycopg2.extensions as ext
    from celery_poolkit.greendb import psycopg2 as green
    before = ext.get_wait_callback()
    green.install("eventlet")
    kept = ext.get_wait_callback() is before
    green.uninstall()
    ext.set_wait_callback(None)  # a process where eventlet did not green psycopg2
    green.install("eventlet")
    installed = ext.get_wait_callback()
    print(json.dumps([before.__module__, kept, green.is_installed(),
                      installed.__module__, psycopg2.connect.__module__]))
    """
)


def test_eventlet_keeps_eventlets_own_callback() -> None:
    before, kept, installed, fallback, connect_module = run_json("-c", EVENTLET)
    assert before == "eventlet.support.psycopg2_patcher"
    assert kept is True
    assert installed is True
    assert fallback == "psycogreen.eventlet"  # installed when nothing greened psycopg2
    assert connect_module == "psycopg2"  # no connect wrapper under eventlet
