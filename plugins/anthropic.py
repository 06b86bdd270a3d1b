"""anthropic: the Anthropic Python SDK, built on httpx; long-running requests.

**Knows:** ``Anthropic()`` and the Bedrock/Vertex variants (local) and every API call
through them (``client.messages.create``, ``client.messages.stream``,
``client.messages.batches.create``, ``client.beta.*`` …), and ``AsyncAnthropic``
(coroutines: ``RUNS_EVENT_LOOP`` from a sync task).

**Under gevent:** the sync client is httpx over the stdlib socket: safe after patching.
Retries back off with ``time.sleep`` (patched). Import after patching (ssl order).

**Fix:** set ``timeout=`` / ``max_retries``; share one client per process.

**Sources:** anthropic-sdk-python README ("Async usage", "Retries", "Timeouts",
"AWS Bedrock", "Google Vertex"); ``anthropic/_base_client.py`` (httpx).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import coroutines, ctor
from celery_poolkit.plugins.base import Plugin

_SYNC = "anthropic.Anthropic"
_ASYNC = "anthropic.AsyncAnthropic"

PLUGIN = Plugin(
    name="anthropic",
    modules=("anthropic",),
    distributions=("anthropic",),
    summary="Anthropic API over httpx: network IO, cooperative after patching.",
    calls=(
        ctor(_SYNC, _SYNC),
        ctor("anthropic.AnthropicBedrock", _SYNC),
        ctor("anthropic.AnthropicVertex", _SYNC),
        Call(f"{_SYNC}.**", Effect.NET_IO, note="HTTPS request over httpx"),
        ctor(_ASYNC, _ASYNC),
        coroutines(f"{_ASYNC}.**"),
    ),
)
