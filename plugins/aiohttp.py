"""aiohttp: asyncio-only HTTP; a sync Celery task must start an event loop to use it.

**Knows:** ``aiohttp.ClientSession`` and its verbs, ``aiohttp.request``.

**Under gevent:** every aiohttp call is a coroutine, so the task runs
``asyncio.run()`` / ``loop.run_until_complete()``: ``RUNS_EVENT_LOOP``. asyncio keeps its
running loop in a native-thread-local, so two greenlets each running a loop raise
"Cannot run the event loop while another loop is running"; on CPython >= 3.13.12,
``run_in_executor`` / ``to_thread`` stall under ``patch_all()``. Under prefork or
threads it works, with one loop per task.

**Fix:** on a gevent queue use a sync client (requests, httpx.Client); otherwise route
the task to a prefork or threads queue. The concurrency then comes from asyncio inside
the task, not from the pool.

**Sources:** gevent #982, #2026, #2213; gunicorn #2468; advisor-anchors.md ("tasks that
start their own asyncio event loop", bookwyrm ``broadcast_task``).
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import HTTP_VERBS, coroutines, ctor
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="aiohttp",
    modules=("aiohttp",),
    distributions=("aiohttp",),
    summary="asyncio HTTP client: using it from a task means running an event loop.",
    calls=(
        ctor("aiohttp.ClientSession", "aiohttp.ClientSession"),
        *(coroutines(f"aiohttp.ClientSession.{verb}") for verb in (*HTTP_VERBS, "ws_connect")),
        coroutines("aiohttp.request"),
    ),
)
