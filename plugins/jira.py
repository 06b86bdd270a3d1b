"""python-jira: the ``JIRA`` client and its resources, over requests.

**Knows:** ``jira.JIRA(...)`` (connecting: the constructor fetches server info unless
``get_server_info=False``) and every call through it (``issue``, ``search_issues``,
``create_issue``, ``add_comment``, ``transition_issue``, ``add_attachment`` …), and the
resources it returns (``Issue.update``, ``Issue.delete``, ``Comment.update`` …).

**Under gevent:** requests over urllib3: cooperative after patching.

**Fix:** one client per process (it holds a ``requests.Session``); set ``timeout=``.

**Sources:** jira (pycontribs) docs ("Quickstart", ``jira.client.JIRA``); ``jira/resources.py``.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins.base import Plugin

_CLIENT = "jira.JIRA"
_ISSUE = "jira.resources.Issue"
_HTTP = "a REST request to Jira over requests"

PLUGIN = Plugin(
    name="jira",
    modules=("jira",),
    distributions=("jira",),
    summary="python-jira: REST requests over requests, cooperative after patching.",
    calls=(
        Call(_CLIENT, Effect.NET_IO, returns=_CLIENT, note="fetches server info on connect"),
        Call("jira.client.JIRA", Effect.NET_IO, returns=_CLIENT, note="same class as jira.JIRA"),
        Call(f"{_CLIENT}.*", Effect.NET_IO, note=_HTTP),
        *(
            Call(f"{_CLIENT}.{name}", Effect.NET_IO, returns=_ISSUE, note=_HTTP)
            for name in ("issue", "create_issue")
        ),
        Call(f"{_ISSUE}.*", Effect.NET_IO, note=_HTTP),
        Call("jira.resources.Resource.*", Effect.NET_IO, note=_HTTP),
    ),
)
