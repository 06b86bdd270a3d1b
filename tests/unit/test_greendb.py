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
from celery_poolkit.greendb.pool import check_idle, reset_for_reuse
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
    assert green_psycopg2._connect_timeout(dsn) == seconds


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
