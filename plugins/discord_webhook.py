"""discord_webhook: the ``discord-webhook`` package, built on requests.

**Knows:** ``DiscordWebhook(url=...)`` and its ``execute()`` / ``edit()`` / ``delete()``
/ ``api_post_request()`` (an HTTP request to Discord's webhook API), and
``AsyncDiscordWebhook`` (coroutines: ``RUNS_EVENT_LOOP`` from a sync task). Building
embeds (``DiscordEmbed``) and ``add_file`` are local.

**Under gevent:** safe after patching: the sync client sends with ``requests``.

**Fix:** pass ``timeout=`` to ``DiscordWebhook``; Discord rate-limits webhooks, so
``rate_limit_retry=True`` sleeps between retries.

**Sources:** discord-webhook README; ``discord_webhook/webhook.py`` (``requests.post``)
and ``async_webhook.py`` (httpx ``AsyncClient``).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import coroutines, ctor
from celery_poolkit.plugins.base import Plugin

_C = "discord_webhook.DiscordWebhook"
_ASYNC = "discord_webhook.AsyncDiscordWebhook"

PLUGIN = Plugin(
    name="discord_webhook",
    modules=("discord_webhook",),
    distributions=("discord-webhook",),
    summary="Discord webhooks over requests: cooperative after patching.",
    calls=(
        ctor(_C, _C),
        ctor("discord_webhook.webhook.DiscordWebhook", _C),
        *(
            Call(f"{_C}.{name}", Effect.NET_IO, note="HTTP request to Discord's webhook API")
            for name in ("execute", "edit", "delete", "api_post_request")
        ),
        ctor(_ASYNC, _ASYNC),
        coroutines(f"{_ASYNC}.**"),
    ),
)
