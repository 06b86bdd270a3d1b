"""The hazard scan: modules already imported that captured unpatched objects.

Monkey patching replaces module attributes; a module imported earlier that did
``from ssl import SSLContext``, bound ``queue.LifoQueue`` as a class attribute, or picked
a C wait function keeps the original forever. Each check below looks only at
``sys.modules`` (it never imports what it checks, which would itself be a late import)
and returns hazards that name the module and what to do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from celery_poolkit.bootstrap.results import PatchHazard
from celery_poolkit.model import Pool

_FIRST_LINE = (
    "make `import celery_poolkit; celery_poolkit.patch()` the first line of the entry point, "
    "or launch with `poolkit worker ...`"
)


def _loaded(name: str) -> object | None:
    return sys.modules.get(name)


def _module_names_holding(obj: object) -> list[str]:
    """Modules whose globals reference ``obj`` (``from x import obj``)."""
    import gc

    by_dict: dict[int, str] = {}
    for name, module in list(sys.modules.items()):
        # Aliases (requests.packages.urllib3 is urllib3) share one dict: keep the short name.
        key = id(getattr(module, "__dict__", None))
        if module is not None and (key not in by_dict or len(name) < len(by_dict[key])):
            by_dict[key] = name
    holders = {by_dict[id(ref)] for ref in gc.get_referrers(obj) if id(ref) in by_dict}
    return sorted(holders)


def _ssl(pool: Pool) -> Iterator[PatchHazard]:
    ssl = _loaded("ssl")
    context = getattr(ssl, "SSLContext", None)
    if context is None:
        return
    # Importing ssl alone is harmless (gevent replaces the module's attributes); what
    # breaks is a module that kept the original class or subclassed it (gevent #1016:
    # RecursionError, or TLS sockets that block the hub).
    holders = [m for m in _module_names_holding(context) if m not in ("ssl", __name__)]
    subclasses = [f"{c.__module__}.{c.__qualname__}" for c in context.__subclasses__()]
    subclasses = [s for s in subclasses if not s.startswith(("ssl.", "gevent."))]
    if holders or subclasses:
        held = ", ".join(holders + subclasses)
        yield PatchHazard(
            "late-ssl",
            held,
            f"imported ssl.SSLContext before {pool.value} patched ssl; TLS through it "
            "stays blocking and may raise RecursionError.",
            _FIRST_LINE,
        )


def _urllib3(pool: Pool) -> Iterator[PatchHazard]:
    connectionpool = _loaded("urllib3.connectionpool")
    queue_cls = getattr(getattr(connectionpool, "ConnectionPool", None), "QueueCls", None)
    if queue_cls is not None and getattr(queue_cls, "__module__", "") == "queue":
        yield PatchHazard(
            "urllib3-queue",
            "urllib3.connectionpool",
            "ConnectionPool.QueueCls is the stdlib queue.LifoQueue captured at import; "
            "pools shared by greenlets can deadlock (gevent #1957).",
            "poolkit's urllib3 adapter resets QueueCls after patching; import requests/"
            "urllib3 after patching to avoid it entirely",
        )


def _psycopg(pool: Pool) -> Iterator[PatchHazard]:
    waiting = _loaded("psycopg.waiting")
    wait = getattr(waiting, "wait", None)
    if wait is not None and getattr(wait, "__name__", "") == "wait_c":
        yield PatchHazard(
            "psycopg-wait",
            "psycopg.waiting",
            "psycopg chose its C wait function (wait_c) at import, before select was "
            "patched: every query blocks the hub.",
            f"import psycopg after patching; {_FIRST_LINE}",
        )


def _psycopg_pool(pool: Pool) -> Iterator[PatchHazard]:
    acompat = _loaded("psycopg_pool._acompat")
    event = getattr(acompat, "Event", None)
    if event is not None and getattr(event, "__module__", "") == "threading":
        yield PatchHazard(
            "psycopg-pool-threads",
            "psycopg_pool",
            "psycopg_pool bound threading.Event/Thread at import: its workers are native "
            "threads and its waits block the hub.",
            f"import psycopg_pool after patching; {_FIRST_LINE}",
        )


def _django(pool: Pool) -> Iterator[PatchHazard]:
    db = _loaded("django.db")
    storage = getattr(getattr(getattr(db, "connections", None), "_connections", None),
                      "_storage", None)  # fmt: skip
    if storage is not None and type(storage).__module__ in ("_thread", "_threading_local"):
        yield PatchHazard(
            "django-connections",
            "django.db",
            "django.db.connections keeps its connections in a native thread-local made "
            "at import: every greenlet shares ONE connection and transaction.",
            f"import Django (django.setup()) after patching; {_FIRST_LINE}",
        )


def _grpc(pool: Pool) -> Iterator[PatchHazard]:
    if _loaded("grpc") is None:
        return
    channel_cls = getattr(_loaded("grpc._channel"), "Channel", None)
    live = 0
    if channel_cls is not None:
        import gc

        live = sum(1 for o in gc.get_objects() if isinstance(o, channel_cls))
    extra = f" and {live} channel(s) already exist" if live else ""
    yield PatchHazard(
        "grpc-early",
        "grpc",
        f"grpc was imported before patching{extra}; init_gevent() must run before any "
        "grpc object is created, or calls hang (LoopExit).",
        f"import grpc after patching; {_FIRST_LINE}",
    )


def _threads(pool: Pool) -> Iterator[PatchHazard]:
    # sys._current_frames() counts native threads without importing threading.
    count = len(sys._current_frames())
    if count > 1:
        threading = _loaded("threading")
        names = ""
        if threading is not None:
            main = threading.main_thread()  # type: ignore[attr-defined]
            others = [t.name for t in threading.enumerate() if t is not main]  # type: ignore[attr-defined]
            names = f" ({', '.join(others)})" if others else ""
        yield PatchHazard(
            "native-threads",
            "threading",
            f"{count - 1} native thread(s) already run{names}; they keep blocking locks "
            "and queues that patching cannot convert.",
            f"start threads after patching; {_FIRST_LINE}",
        )


def _asyncio(pool: Pool) -> Iterator[PatchHazard]:
    events = _loaded("asyncio.events")
    get_running = getattr(events, "_get_running_loop", None)
    if get_running is not None and get_running() is not None:
        yield PatchHazard(
            "asyncio-loop",
            "asyncio",
            "an asyncio event loop is running in this thread; greenlets cannot run "
            "inside it and it cannot run inside a greenlet.",
            "patch outside of asyncio.run(); do not mix asyncio with a green pool",
        )


CHECKS: tuple[Callable[[Pool], Iterator[PatchHazard]], ...] = (
    _ssl,
    _urllib3,
    _psycopg,
    _psycopg_pool,
    _django,
    _grpc,
    _threads,
    _asyncio,
)


def scan(pool: Pool) -> tuple[PatchHazard, ...]:
    """Every hazard for patching ``pool`` now. Never raises: a check that fails is skipped,
    because the scan exists to help and must not stop a worker from starting."""
    found: list[PatchHazard] = []
    for check in CHECKS:
        try:
            found.extend(check(pool))
        except Exception:
            continue
    return tuple(found)
