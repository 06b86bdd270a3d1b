"""python-telegram-bot: Bot API client; asyncio-only since version 20.

**Knows:** ``telegram.Bot`` and its API methods (``send_message``, ``send_photo``,
``send_document`` …).

**Under gevent:** since v20 every ``Bot`` method is a coroutine (httpx's async client
underneath), so a sync Celery task must run ``asyncio.run(bot.send_message(...))``:
``RUNS_EVENT_LOOP``, which collides across greenlets (asyncio keeps its running loop per
native thread). v13 and older were synchronous (urllib3) and safe after patching.

**Fix:** on a gevent queue call the Bot API with requests/httpx directly
(``https://api.telegram.org/bot<token>/sendMessage``), or route Telegram tasks to a
prefork/threads queue where each task runs its own loop.

**Sources:** python-telegram-bot v20 "Transition guide to v20" (asyncio);
``telegram/_bot.py``; gevent #2026.
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import coroutines, ctor
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="telegram",
    modules=("telegram",),
    distributions=("python-telegram-bot",),
    summary="Telegram Bot API: asyncio coroutines since v20, so a task runs a loop.",
    calls=(
        ctor("telegram.Bot", "telegram.Bot"),
        ctor("telegram.ext.ExtBot", "telegram.Bot"),
        coroutines(
            "telegram.Bot.*", "v20+: coroutines over httpx.AsyncClient; the task needs a loop"
        ),
    ),
)
