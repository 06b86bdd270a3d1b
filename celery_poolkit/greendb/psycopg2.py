"""psycopg2 under gevent: a wait callback that yields to other greenlets, and cleans up.

Without a wait callback libpq waits in C and blocks gevent's hub: a worker at ``-c 50``
runs one query at a time. psycogreen's callback fixes that; this one reuses psycogreen's
poll loop and adds what it leaves out (green-runtime.md section 4.2):

* **Cancel on interruption.** When a ``gevent.Timeout``, ``GreenletExit`` or
  ``KeyboardInterrupt`` interrupts a wait, psycopg2 closes the connection (``green_panic``)
  but sends no cancel, so the server keeps running the query until it next writes to the
  socket -- ``pg_sleep(600)`` holds a backend for ten minutes. We send a cancel request
  first (from gevent's thread pool: ``PQcancel`` opens a TCP connection and must not
  block the hub if the server is unreachable).
* **connect_timeout.** libpq ignores it in non-blocking mode (psycopg2 #944: "it is the
  client which should re-implement it"); the callback enforces it during the connect.
* **DNS.** ``PQconnectStart`` resolves ``host`` in C, blocking the hub. ``install`` wraps
  ``psycopg2.connect`` to resolve host names with gevent's resolver first and pass the
  address as ``hostaddr`` (``host`` is kept, for TLS and ``.pgpass``).
* **COPY and large objects** cannot run with a wait callback; psycopg2 refuses with
  "cannot be used with an asynchronous callback". Connections made through
  ``psycopg2.connect`` get :class:`GreenModeUnsupported` instead, which says why and what
  to do.

None of this may cost throughput against psycogreen alone (issue 17), so the common path
does only what psycogreen does: the callback imports nothing and checks one status per
wait; a connection's ``connect_timeout`` and its dsn's hosts are parsed once per distinct
dsn (cached), IP literals never reach the resolver, a host name's address is reused for
:data:`RESOLVE_TTL` seconds, and the cancel machinery runs only when a wait is
interrupted.

Under eventlet, ``eventlet.monkey_patch()`` greens psycopg2 itself (it installs its own
copy of psycogreen's callback). ``install("eventlet")`` keeps that callback, installs
psycogreen's eventlet one if none is set, and adds none of the above: eventlet is
deprecated upstream, and poolkit's answer for it is "move to gevent".
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery_poolkit.errors import DidNotEnable

__all__ = ["green_wait_callback", "install", "is_installed", "uninstall", "unsupported_error"]

log = logging.getLogger(__name__)

_POOLS = ("gevent", "eventlet")

#: What install() changed, so uninstall() can put it back: pool name, the wait callback
#: that was set before, and psycopg2.connect before we wrapped it.
_state: dict[str, Any] = {}


def _import_psycopg2() -> Any:
    try:
        import psycopg2
        import psycopg2.extensions
    except ImportError as exc:
        raise DidNotEnable(
            f"psycopg2 is not installed ({exc}); install celery-poolkit[postgres]"
        ) from exc
    return psycopg2


# -- the wait callback (gevent) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Imported:
    """What the callback uses from psycogreen, gevent and psycopg2. The callback runs for
    every connect and every query, so it imports them once, not on each call."""

    poll: Callable[[Any, float | None], None]  # psycogreen's gevent_wait_callback
    connecting: int  # psycopg2's STATUS_SETUP
    timer: Any  # gevent.Timeout
    error: type[Exception]  # psycopg2.OperationalError


@functools.cache
def _imported() -> _Imported:
    import gevent
    from psycogreen.gevent import gevent_wait_callback
    from psycopg2 import OperationalError
    from psycopg2.extensions import STATUS_SETUP

    return _Imported(gevent_wait_callback, STATUS_SETUP, gevent.Timeout, OperationalError)


def green_wait_callback(conn: Any, timeout: float | None = None) -> None:
    """psycopg2 wait callback for gevent: psycogreen's poll loop, plus connect_timeout and
    a server-side cancel when the wait is interrupted."""
    imported = _imported()
    if conn.status != imported.connecting:
        # A query: psycogreen's loop as it is; the cancel machinery runs only when
        # something interrupts it.
        try:
            imported.poll(conn, timeout)
        except BaseException:
            # Whatever stopped the wait (a timeout, a kill, a broken socket), psycopg2 is
            # about to close this connection; make the server stop the query first.
            _cancel(conn)
            raise
        return
    # Connecting: nothing runs on the server yet, so nothing to cancel; only the timeout
    # libpq forgets in non-blocking mode.
    limit = _connect_timeout(conn.dsn, os.environ.get("PGCONNECT_TIMEOUT"))
    if limit is None:
        imported.poll(conn, timeout)
        return
    timer = imported.timer(limit)
    timer.start()
    try:
        imported.poll(conn, timeout)
    except imported.timer as exc:
        if exc is not timer:
            raise
        raise imported.error(
            f"timeout expired: no connection to the server within connect_timeout="
            f"{limit:g}s (enforced by celery-poolkit: libpq ignores connect_timeout "
            f"in the non-blocking mode green drivers use)"
        ) from None
    finally:
        timer.close()


@functools.lru_cache(maxsize=64)
def _connect_timeout(dsn: str, env: str | None) -> float | None:
    """``connect_timeout`` from the dsn or else ``env`` (PGCONNECT_TIMEOUT), libpq's way:
    <= 0 means none, and values between 0 and 2 mean 2 seconds. Cached: a worker connects
    with the same few dsns over and over."""
    from psycopg2.extensions import parse_dsn

    raw = parse_dsn(dsn).get("connect_timeout") or env
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None  # libpq rejects it at connect with its own message
    if value <= 0:
        return None
    return max(value, 2.0)


def _cancel(conn: Any) -> None:
    """Ask the server to cancel the running query; never raises, always waits.

    ``conn.cancel()`` runs in gevent's thread pool so that an unreachable server blocks
    one pool thread, not the hub. We wait for it even if this greenlet is interrupted
    again: psycopg2 frees the connection's cancel handle when it closes the connection
    right after this callback returns, and the thread must be done with it by then.
    """
    import gevent

    if conn.closed:
        return
    try:
        pending = gevent.get_hub().threadpool.spawn(_cancel_in_thread, conn)
    except Exception:  # no thread pool (hub shutting down): cancel from here
        _cancel_in_thread(conn)
        return
    again: BaseException | None = None
    while True:
        try:
            pending.get()
            break
        except Exception:
            break
        except BaseException as exc:  # a second kill while we wait: keep waiting
            again = exc
    if again is not None:
        log.debug("interrupted again while cancelling a query: %r", again)


def _cancel_in_thread(conn: Any) -> None:
    try:
        conn.cancel()
    except Exception as exc:  # server gone, or the query already finished
        log.debug("could not cancel the query on %r: %s", conn, exc)


# -- host names and COPY: a wrapped psycopg2.connect ---------------------------------------


def unsupported_error(operation: str) -> Exception:
    """The error for an operation green psycopg2 cannot do (a ``ProgrammingError``)."""
    return _classes()[0](
        f"{operation} cannot run on a green psycopg2 connection: with a wait callback "
        f"installed (celery-poolkit installs one under gevent, so that one task's query "
        f"does not stop every other task of the worker), psycopg2 refuses COPY and large "
        f"objects, which only work in blocking mode. Use psycopg 3 (its COPY and "
        f"large-object calls are green), or route this task to a prefork or threads "
        f"worker queue."
    )


@functools.cache
def _classes() -> tuple[type[Exception], type[Any], type[Any]]:
    """GreenModeUnsupported, GreenConnection and GreenCursor: built on first use because
    their bases come from psycopg2, which this module imports lazily."""
    import psycopg2
    import psycopg2.extensions as ext

    class GreenModeUnsupported(psycopg2.ProgrammingError):  # type: ignore[misc]
        """An operation psycopg2 cannot do while a wait callback is installed."""

    class GreenCursor(ext.cursor):  # type: ignore[misc]
        def copy_from(self, *args: Any, **kwargs: Any) -> Any:
            raise unsupported_error("COPY (cursor.copy_from)")

        def copy_to(self, *args: Any, **kwargs: Any) -> Any:
            raise unsupported_error("COPY (cursor.copy_to)")

        def copy_expert(self, *args: Any, **kwargs: Any) -> Any:
            raise unsupported_error("COPY (cursor.copy_expert)")

    # No cursor() override: connect() sets the connection's cursor_factory to GreenCursor,
    # and psycopg2 then makes cursors in C, with no Python call per cursor.
    class GreenConnection(ext.connection):  # type: ignore[misc]
        def lobject(self, *args: Any, **kwargs: Any) -> Any:
            raise unsupported_error("A large object (connection.lobject)")

    GreenModeUnsupported.__module__ = GreenCursor.__module__ = GreenConnection.__module__ = __name__
    return GreenModeUnsupported, GreenConnection, GreenCursor


def _wrap_connect(original: Callable[..., Any]) -> Callable[..., Any]:
    # Looked up once here, not on every connect.
    from psycopg2.extensions import cursor as plain_cursor
    from psycopg2.extensions import make_dsn

    _, green_connection, green_cursor = _classes()

    @functools.wraps(original)
    def connect(
        dsn: str | None = None,
        connection_factory: Any = None,
        cursor_factory: Any = None,
        **kwargs: Any,
    ) -> Any:
        if kwargs or not isinstance(dsn, str):
            if "async" in kwargs or "async_" in kwargs:
                # Asynchronous connections are driven by the caller, not by the callback.
                return original(dsn, connection_factory, cursor_factory, **kwargs)
            dsn = make_dsn(dsn, **kwargs)
        if cursor_factory is None or cursor_factory is plain_cursor:
            cursor_factory = green_cursor
        return original(
            _with_hostaddr(dsn), connection_factory=connection_factory or green_connection,
            cursor_factory=cursor_factory,
        )  # fmt: skip

    connect.__poolkit_original__ = original  # type: ignore[attr-defined]
    return connect


#: How long a host name's address is reused before gevent's resolver is asked again.
#: libpq itself resolves on every connect; a second keeps a moved server (a failover
#: that changes DNS) followed almost as promptly, while a worker opening a connection per
#: task asks the resolver about once a second instead of once per task.
RESOLVE_TTL = 1.0
#: Host names remembered at most (the oldest is forgotten first).
_ADDRESSES_MAX = 64
#: host name -> (time.monotonic() it expires at, address): see RESOLVE_TTL.
_addresses: dict[str, tuple[float, str]] = {}


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a dsn points, as far as libpq's name resolution is concerned."""

    hosts: str  # the dsn's host list ("" when it names none: libpq then reads PGHOST)
    port: str  # its port list ("" when it names none)
    hostaddr: bool  # it names hostaddr itself


@functools.lru_cache(maxsize=64)
def _target(dsn: str) -> _Target:
    """Parsed once per distinct dsn: a worker connects with the same few over and over."""
    from psycopg2.extensions import parse_dsn

    params = parse_dsn(dsn)
    return _Target(params.get("host", ""), params.get("port", ""), bool(params.get("hostaddr")))


def _with_hostaddr(dsn: str) -> str:
    """``dsn`` plus ``hostaddr`` resolved by gevent's (cooperative) resolver, when libpq
    would otherwise resolve a host name itself. Unchanged for sockets, IP literals, an
    explicit ``hostaddr``, or no host at all (libpq then uses a Unix socket)."""
    target = _target(dsn)
    if target.hostaddr:
        return dsn
    hosts = target.hosts or os.environ.get("PGHOST", "")
    names = _host_names(hosts)
    if not names or os.environ.get("PGHOSTADDR"):
        return dsn
    from psycopg2.extensions import make_dsn

    ports = (target.port or os.environ.get("PGPORT") or "5432").split(",")
    if len(ports) == 1:
        ports *= len(names)
    addresses = [_resolve(name, port) for name, port in zip(names, ports, strict=False)]
    return str(make_dsn(dsn, host=hosts, hostaddr=",".join(addresses)))


@functools.lru_cache(maxsize=64)
def _host_names(hosts: str) -> tuple[str, ...]:
    """The names in a ``host`` list, or () when libpq needs no resolver for it: an entry
    is an IP literal or a Unix socket (hostaddr must then name every host, so the whole
    list is left to libpq), or the list is empty."""
    names = tuple(hosts.split(",")) if hosts else ()
    return names if all(_is_host_name(name) for name in names) else ()


def _is_host_name(host: str) -> bool:
    if not host or host.startswith(("/", "@")):  # Unix socket directory or abstract socket
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def _resolve(host: str, port: str) -> str:
    """``host``'s first address, from gevent's resolver or from the last RESOLVE_TTL
    seconds. Failures are not remembered."""
    now = time.monotonic()
    known = _addresses.get(host)
    if known is not None and now < known[0]:
        return known[1]
    import gevent.socket
    from psycopg2 import OperationalError

    try:
        infos = gevent.socket.getaddrinfo(host, int(port or 5432), 0, gevent.socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        # libpq's own wording, so callers matching on it keep working.
        raise OperationalError(
            f'could not translate host name "{host}" to address: {exc}'
        ) from None
    # libpq would try every address in turn; with hostaddr it tries only this one.
    address = str(infos[0][4][0])
    if host not in _addresses and len(_addresses) >= _ADDRESSES_MAX:
        del _addresses[next(iter(_addresses))]
    _addresses[host] = (now + RESOLVE_TTL, address)
    return address


# -- install / uninstall -------------------------------------------------------------------


def install(pool: str) -> None:
    """Make psycopg2 cooperative under ``pool`` ("gevent" or "eventlet"). Idempotent.

    Side effects, undone by :func:`uninstall`: sets psycopg2's process-wide wait callback
    and, under gevent, replaces ``psycopg2.connect`` with a wrapper (host names resolved
    without blocking the hub, COPY and large objects explained).

    Call it after monkey patching and before any connection is opened: the wait callback
    is process-global and applies to connections made afterwards. Raises
    :class:`~celery_poolkit.errors.DidNotEnable` when psycopg2, gevent/eventlet or
    psycogreen is missing, and ``ValueError`` for another pool name.
    """
    if pool not in _POOLS:
        raise ValueError(f"install(pool): expected one of {', '.join(_POOLS)}, not {pool!r}")
    psycopg2 = _import_psycopg2()
    if _state.get("pool") == pool:
        return
    if _state:
        uninstall()
    ext = psycopg2.extensions
    before = ext.get_wait_callback()
    if pool == "gevent":
        try:
            import gevent  # noqa: F401
            import psycogreen.gevent  # noqa: F401
        except ImportError as exc:
            raise DidNotEnable(
                f"{exc.name} is not installed; install celery-poolkit[gevent]"
            ) from exc
        ext.set_wait_callback(green_wait_callback)
        wrapped = _wrap_connect(psycopg2.connect)
        _state.update(pool=pool, before=before, connect=psycopg2.connect)
        psycopg2.connect = wrapped
        return
    if before is None:
        try:
            from psycogreen.eventlet import eventlet_wait_callback
        except ImportError as exc:
            raise DidNotEnable(
                f"{exc.name} is not installed; install celery-poolkit[eventlet]"
            ) from exc
        ext.set_wait_callback(eventlet_wait_callback)
    _state.update(pool=pool, before=before, connect=None)


def uninstall() -> None:
    """Undo :func:`install`: the previous wait callback and ``psycopg2.connect`` return."""
    if not _state:
        return
    import psycopg2
    import psycopg2.extensions as ext

    ext.set_wait_callback(_state["before"])
    if _state["connect"] is not None:
        psycopg2.connect = _state["connect"]
    _state.clear()
    _addresses.clear()


def is_installed() -> bool:
    """True when :func:`install` ran and psycopg2's wait callback is still the green one
    it left (someone may have replaced it since)."""
    if not _state:
        return False
    import psycopg2.extensions as ext

    current = ext.get_wait_callback()
    if _state["pool"] == "gevent":
        return current is green_wait_callback
    return current is not None
