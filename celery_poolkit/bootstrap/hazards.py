"""The hazard scan: modules already imported that captured unpatched objects.

Monkey patching replaces module attributes; a module imported earlier that did
``from ssl import SSLContext``, bound ``queue.LifoQueue`` as a class attribute, or picked
a C wait function keeps the original forever. The checks of the process itself (ssl,
native threads, a running asyncio loop) are here; each library's are its plugin's
``hazards`` hook, read from the one registry (:func:`celery_poolkit.plugins.runtime_plugins`).
Every check looks only at ``sys.modules`` (it never imports what it checks, which would
itself be a late import) and returns hazards that name the module and what to do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from celery_poolkit.model import PatchHazard, Pool
from celery_poolkit.plugins.base import PATCH_FIRST


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
            PATCH_FIRST,
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
            f"start threads after patching; {PATCH_FIRST}",
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


#: The process's own checks; the libraries' come from the plugins.
PROCESS_CHECKS: tuple[Callable[[Pool], Iterator[PatchHazard]], ...] = (_ssl, _threads, _asyncio)


def checks() -> list[Callable[[Pool], Iterator[PatchHazard]]]:
    """The process checks, then every runtime plugin's ``hazards`` hook."""
    from celery_poolkit.plugins import runtime_plugins

    found = list(PROCESS_CHECKS)
    for plugin in runtime_plugins():
        try:
            hook = plugin.hook("hazards")
        except Exception:  # a third-party plugin's broken hook: its adapter result says so
            continue
        if hook is not None:
            found.append(hook)
    return found


def scan(pool: Pool) -> tuple[PatchHazard, ...]:
    """Every hazard for patching ``pool`` now. Never raises: a check that fails is skipped,
    because the scan exists to help and must not stop a worker from starting."""
    found: list[PatchHazard] = []
    try:
        every = checks()
    except Exception:
        every = list(PROCESS_CHECKS)
    for check in every:
        try:
            found.extend(check(pool))
        except Exception:
            continue
    return tuple(found)
