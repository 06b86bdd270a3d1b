"""slack_sdk: the Slack Web API and webhook clients, on the stdlib's urllib.

**Knows:** ``WebClient`` (every Web API method: ``chat_postMessage``,
``files_upload_v2``, ``conversations_*`` …, and ``api_call``), ``WebhookClient.send``,
and ``AsyncWebClient`` (coroutines). Also the legacy ``slack.WebClient`` import path of
slackclient 2.x.

**Under gevent:** the sync clients are safe after patching: they send with
``urllib.request`` (stdlib sockets). ``AsyncWebClient`` uses aiohttp and needs an event
loop (``RUNS_EVENT_LOOP``).

**Fix:** use ``WebClient`` in tasks; mind Slack's rate limits (HTTP 429 +
``Retry-After``) with Celery's ``retry``/``rate_limit`` rather than sleeping in the task.

**Sources:** slack_sdk docs ("Web Client", "Webhook Client", "RetryHandler");
``slack_sdk/web/base_client.py`` (``urllib.request``).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import coroutines, ctor
from celery_poolkit.plugins.base import Plugin

_WEB = "slack_sdk.WebClient"
_HOOK = "slack_sdk.webhook.WebhookClient"
_ASYNC = "slack_sdk.web.async_client.AsyncWebClient"

PLUGIN = Plugin(
    name="slack_sdk",
    modules=("slack_sdk", "slack"),
    distributions=("slack-sdk", "slackclient"),
    summary="Slack Web API over urllib: cooperative after patching.",
    calls=(
        ctor(_WEB, _WEB),
        ctor("slack_sdk.web.WebClient", _WEB),
        ctor("slack_sdk.web.client.WebClient", _WEB),
        ctor("slack.WebClient", _WEB, note="slackclient 2.x import path"),
        Call(f"{_WEB}.*", Effect.NET_IO, note="one HTTPS request per Web API method"),
        ctor(_HOOK, _HOOK),
        ctor("slack_sdk.WebhookClient", _HOOK),
        Call(f"{_HOOK}.send", Effect.NET_IO),
        Call(f"{_HOOK}.send_dict", Effect.NET_IO),
        ctor(_ASYNC, _ASYNC),
        coroutines(f"{_ASYNC}.*", "aiohttp coroutines: a sync task must run an event loop"),
    ),
)
