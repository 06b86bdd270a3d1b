"""psycopg 3 under gevent: is it green, and does an interrupted query get cancelled?

psycopg 3 needs no wait callback: from 3.1.14 on it cooperates with gevent by itself --
*if* ``gevent.monkey`` had patched ``select`` when ``psycopg.waiting`` was first imported.
It picks its wait function once, at that import: imported earlier, it keeps the C
``wait_c``, and every query blocks the hub (green-runtime.md section 4.3). :func:`check`
reports which one it picked and why.

Interruption: ``Connection.wait`` cancels the server-side query only for
``KeyboardInterrupt`` and ``SystemExit`` (its ``_INTERRUPTED`` tuple). A ``gevent.Timeout``
or ``GreenletExit`` -- what Celery's gevent pool uses for a task's hard time limit --
leaves the connection ``ACTIVE`` and the query running. :func:`install` adds both to that
tuple, so psycopg runs its own cancel-and-drain path (bounded at 5 s, closing the
connection when the server does not answer) for them too, and the connection stays
usable.

eventlet is not supported by psycopg 3: it does not detect eventlet's patching and keeps
its blocking C wait function. :func:`install` refuses it; :func:`check` says so.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from celery_poolkit.errors import DidNotEnable
from celery_poolkit.versions import version_tuple

__all__ = ["BLOCKING_WAIT", "MIN_VERSION", "PsycopgReport", "check", "install", "wait_function"]

#: The oldest psycopg whose gevent support is official (it broke in 3.1.4-3.1.13); the
#: psycopg plugin's ``min_version`` is the same fact, for ``poolkit doctor``.
MIN_VERSION = (3, 1, 14)
#: The wait function psycopg picks when imported before patching: it blocks the hub.
BLOCKING_WAIT = "wait_c"

_EVENTLET = (
    "psycopg 3 does not support eventlet: it only detects gevent's monkey patching, so "
    "under eventlet it keeps its C wait function and every query blocks the hub. Use "
    "psycopg2 under eventlet (eventlet greens it), or move the worker to gevent."
)


@dataclass(frozen=True, slots=True)
class PsycopgReport:
    """What :func:`check` found. ``green`` is the verdict, ``reason`` explains it."""

    pool: str
    imported: bool
    version: str | None
    wait_function: str | None
    green: bool
    cancels_on_interrupt: bool
    reason: str


def wait_function() -> str | None:
    """The name of the wait function psycopg picked, or None if it is not imported yet.
    Never imports psycopg (importing it is what makes the choice)."""
    waiting = sys.modules.get("psycopg.waiting")
    wait = getattr(waiting, "wait", None)
    return None if wait is None else str(getattr(wait, "__name__", repr(wait)))


def _select_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("select"))


def check(pool: str = "gevent") -> PsycopgReport:
    """Whether psycopg 3, as imported in this process, cooperates with ``pool``.

    Never imports psycopg: importing it is what fixes its wait function, and a check must
    not change the answer. Not imported yet means "fine, if it is imported after patching".
    """
    psycopg = sys.modules.get("psycopg")
    waiting = sys.modules.get("psycopg.waiting")
    connection = sys.modules.get("psycopg.connection")
    if psycopg is None or waiting is None:
        return PsycopgReport(
            pool=pool, imported=False, version=None, wait_function=None,
            green=pool == "gevent" and _select_patched(), cancels_on_interrupt=False,
            reason="psycopg is not imported yet: it picks its wait function when first "
            "imported, which is green if gevent's monkey patching ran before",
        )  # fmt: skip
    version = str(getattr(psycopg, "__version__", "0"))
    wait = getattr(waiting, "wait", None)
    name = getattr(wait, "__name__", None)
    cancels = _cancels_on_interrupt(connection)

    def report(green: bool, reason: str) -> PsycopgReport:
        return PsycopgReport(
            pool=pool, imported=True, version=version, wait_function=name, green=green,
            cancels_on_interrupt=cancels, reason=reason,
        )  # fmt: skip

    if pool == "eventlet":
        return report(False, _EVENTLET)
    if pool != "gevent":
        return report(True, f"the {pool} pool runs queries on real threads or processes")
    if version_tuple(version) < MIN_VERSION:
        return report(
            False,
            f"psycopg {version} is older than 3.1.14, the first version whose gevent "
            f"support works (psycopg#527); upgrade psycopg",
        )
    if not _select_patched():
        return report(False, "gevent has not patched select in this process")
    if name == BLOCKING_WAIT:
        return report(
            False,
            "psycopg was imported before gevent's monkey patching, so it chose its C wait "
            "function (wait_c), which blocks the hub: move the import after patching "
            "(start the worker with `celery ... worker -P gevent`, which patches first, "
            "and import nothing that imports psycopg before that)",
        )
    return report(True, f"psycopg {version} chose {name}, which waits through gevent")


def _cancels_on_interrupt(connection: Any) -> bool:
    if connection is None:
        return False
    interrupted = getattr(connection, "_INTERRUPTED", ())
    try:
        import gevent
        from greenlet import GreenletExit
    except ImportError:
        return False
    return gevent.Timeout in interrupted and GreenletExit in interrupted


def install(pool: str) -> PsycopgReport:
    """Make an interrupted psycopg 3 query get cancelled under gevent; return :func:`check`.

    Imports psycopg (so call it after monkey patching, like every adapter). Raises
    :class:`~celery_poolkit.errors.DidNotEnable` when psycopg is missing or the pool is
    eventlet (with the reason), ``ValueError`` for another pool name.
    """
    if pool == "eventlet":
        raise DidNotEnable(_EVENTLET)
    if pool != "gevent":
        raise ValueError(f"install(pool): expected 'gevent', not {pool!r}")
    try:
        import gevent
        import psycopg.connection
        from greenlet import GreenletExit
    except ImportError as exc:
        raise DidNotEnable(f"{exc.name} is not installed; install celery-poolkit[psycopg]") from exc
    interrupted = getattr(psycopg.connection, "_INTERRUPTED", None)
    if isinstance(interrupted, tuple):
        extra = tuple(t for t in (gevent.Timeout, GreenletExit) if t not in interrupted)
        # A private name, read when the except clause runs: extending it gives gevent's
        # interruptions psycopg's own cancel-and-drain handling. check() reports whether
        # it took (cancels_on_interrupt), should a future psycopg rename it.
        psycopg.connection._INTERRUPTED = interrupted + extra
    return check(pool)
