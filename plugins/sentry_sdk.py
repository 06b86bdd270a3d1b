"""sentry_sdk: error reporting; events are sent by a background worker, not by the task.

**Knows:** ``sentry_sdk.init`` (configures; installs the Celery integration), the
capture calls (``capture_exception``, ``capture_message``, ``capture_event``,
``add_breadcrumb``, ``set_tag``, ``set_user``, ``set_context``): no effect on the task,
they enqueue; ``sentry_sdk.flush`` waits for the queue to drain over HTTP.

**Under gevent:** the transport's background worker is a ``threading.Thread``: a
greenlet once patched, so sending never blocks the task. Call ``init`` after patching
(in the worker process).

**Pools:** nothing to decide: Sentry does not change which pool fits.

**Sources:** sentry-python docs ("Celery" integration, ``flush``, transport);
``sentry_sdk/worker.py`` (``BackgroundWorker`` thread).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import each
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="sentry_sdk",
    modules=("sentry_sdk",),
    distributions=("sentry-sdk",),
    summary="Error reporting: enqueues events for a background worker; no task effect.",
    calls=(
        Call("sentry_sdk.init", None, Green.SAFE, note="starts the background transport"),
        *each(
            "sentry_sdk",
            (
                "capture_exception",
                "capture_message",
                "capture_event",
                "add_breadcrumb",
                "set_tag",
                "set_user",
                "set_context",
            ),
            None,
            Green.SAFE,
            note="enqueued; sent by the background worker",
        ),
        Call("sentry_sdk.flush", Effect.NET_IO, note="waits for queued events to be sent"),
    ),
)
