"""slumber: a REST API client over requests (``API(url).resource(id).get()``).

**Knows:** ``slumber.API`` and everything reached through it at any depth: resources
are attributes (``api.build``), calling one selects an item (``api.build(42)``), and the
HTTP verbs on them (``get``, ``post``, ``put``, ``patch``, ``delete``) are requests.

**Under gevent:** requests over urllib3 underneath: cooperative after patching.

**Sources:** slumber docs ("Getting started": resources, item access, verbs);
slumber's ``Resource._request`` (a ``requests.Session.request``).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_API = "slumber.API"

PLUGIN = Plugin(
    name="slumber",
    modules=("slumber",),
    distributions=("slumber",),
    summary="REST client over requests: every resource verb is a request.",
    calls=(
        ctor(_API, _API, "no request until a verb is called"),
        Call(f"{_API}.**", Effect.NET_IO, note="an HTTP request through requests"),
    ),
)
