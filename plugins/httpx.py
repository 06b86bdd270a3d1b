"""httpx: sync HTTP over httpcore and the stdlib socket; the async client needs a loop.

**Knows:** the module-level verbs and ``httpx.stream``, ``httpx.Client`` (verbs, ``send``,
``stream``), and ``httpx.AsyncClient`` (the same names, as coroutines).

**Under gevent:** the sync API is safe after patching: httpcore's sync backend is pure
Python over ``socket``/``ssl``. ``AsyncClient`` returns coroutines, so a sync Celery task
can only use it inside ``asyncio.run()``: ``RUNS_EVENT_LOOP``. asyncio keeps its running
loop per *native* thread, so two greenlets running loops collide.

**Pitfall:** like urllib3, import httpx after patching (the ``ssl`` import order matters).

**Fix:** use ``httpx.Client`` in tasks, not ``AsyncClient``; pass ``timeout=``.

**Sources:** flake8-async ASYNC210/ASYNC212 (``httpx.Client`` methods), ruff ASYNC212;
gevent #2026 and #982 (asyncio inside gevent); green-runtime.md §6.
"""

from __future__ import annotations

from celery_poolkit.model import Effect
from celery_poolkit.plugins._rows import HTTP_VERBS, coroutines, ctor, each
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="httpx",
    modules=("httpx",),
    distributions=("httpx",),
    summary="HTTP client; sync API cooperative after patching, AsyncClient needs a loop.",
    calls=(
        *each("httpx", (*HTTP_VERBS, "stream"), Effect.NET_IO),
        ctor("httpx.Client", "httpx.Client"),
        *each("httpx.Client", (*HTTP_VERBS, "send", "stream"), Effect.NET_IO),
        ctor("httpx.AsyncClient", "httpx.AsyncClient"),
        *(coroutines(f"httpx.AsyncClient.{verb}") for verb in (*HTTP_VERBS, "send", "stream")),
    ),
)
