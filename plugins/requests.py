"""requests: blocking HTTP over urllib3, cooperative once gevent has patched the stdlib.

**Knows:** the module-level verbs (``requests.get`` … ``requests.request``),
``requests.Session`` / ``requests.session()`` and the session's verbs and ``send``.

**Under gevent:** safe after patching. requests and urllib3 are pure Python over
``socket`` and ``ssl``, which ``patch_all()`` makes cooperative.

**Pitfall:** import order. Imported before ``patch_all()``, urllib3 keeps the unpatched
``ssl.SSLContext`` (``RecursionError`` in ``create_urllib3_context``) and its
``ConnectionPool.QueueCls`` stays the stdlib ``LifoQueue`` (a non-deterministic deadlock).

**Fix:** patch first (``celery -A proj worker -P gevent`` does; ``poolkit`` launchers
do for every launch form); always pass ``timeout=``.

**Sources:** gevent #1016, #1531, #1957; urllib3 #1176, #3061; locust PR #2813
(``QueueCls = gevent.queue.LifoQueue``); flake8-async ASYNC210 and ruff ASYNC210 list
the same verbs.
"""

from __future__ import annotations

from celery_poolkit.model import Effect
from celery_poolkit.plugins._rows import HTTP_VERBS, ctor, each
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="requests",
    modules=("requests",),
    distributions=("requests",),
    summary="HTTP client; cooperative under gevent when imported after patching.",
    calls=(
        *each("requests", HTTP_VERBS, Effect.NET_IO),
        ctor("requests.Session", "requests.Session"),
        ctor("requests.session", "requests.Session"),
        ctor("requests.sessions.Session", "requests.Session"),
        *each("requests.Session", (*HTTP_VERBS, "send"), Effect.NET_IO),
    ),
)
