"""openai: the OpenAI Python SDK (v1), built on httpx; long-running requests.

**Knows:** ``OpenAI()`` / ``AzureOpenAI()`` (local) and every API call through them
(``client.chat.completions.create``, ``client.responses.create``,
``client.embeddings.create``, ``client.files.create`` …), the module-level client
(``openai.chat.completions.create`` …), the pre-1.0 module-level resources
(``openai.ChatCompletion.create``, ``openai.Embedding.create`` …), and ``AsyncOpenAI``
/ ``AsyncAzureOpenAI`` (coroutines: ``RUNS_EVENT_LOOP`` from a sync task).

**Under gevent:** the sync client is httpx over the stdlib socket: safe after patching,
and a good fit for gevent, since a completion waits seconds on the network. Retries
sleep with ``time.sleep`` (patched). Import after patching (ssl order, as for httpx).

**Fix:** set ``timeout=`` and ``max_retries`` on the client; share one client per
process.

**Sources:** openai-python README ("Async usage", "Retries", "Timeouts",
"Module-level client"); ``openai/_base_client.py`` (httpx).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import coroutines, ctor
from celery_poolkit.plugins.base import Plugin

_SYNC = "openai.OpenAI"
_ASYNC = "openai.AsyncOpenAI"
_RESOURCES = (
    "chat",
    "completions",
    "responses",
    "embeddings",
    "images",
    "audio",
    "files",
    "moderations",
    "batches",
    "beta",
    "models",
    "fine_tuning",
)

#: openai < 1.0's API resources, classes on the module itself.
_LEGACY = (
    "ChatCompletion",
    "Completion",
    "Embedding",
    "Image",
    "Audio",
    "Moderation",
    "Edit",
    "File",
    "FineTune",
    "FineTuningJob",
    "Model",
)

PLUGIN = Plugin(
    name="openai",
    modules=("openai",),
    distributions=("openai",),
    summary="OpenAI API over httpx: network IO, cooperative after patching.",
    calls=(
        ctor(_SYNC, _SYNC),
        ctor("openai.AzureOpenAI", _SYNC),
        Call(f"{_SYNC}.**", Effect.NET_IO, note="HTTPS request over httpx"),
        *(
            Call(f"openai.{name}.*", Effect.NET_IO, note="module-level client")
            for name in _RESOURCES
        ),
        # openai < 1.0: class-level resources of the module (``openai.ChatCompletion.create``;
        # ``acreate`` is a coroutine, but a sync task calling it gets nothing to wait on).
        *(
            Call(f"openai.{name}.*", Effect.NET_IO, note="openai < 1.0 resource")
            for name in _LEGACY
        ),
        ctor(_ASYNC, _ASYNC),
        ctor("openai.AsyncAzureOpenAI", _ASYNC),
        coroutines(f"{_ASYNC}.**"),
    ),
)
