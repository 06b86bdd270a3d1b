"""boto3 / botocore: AWS SDK over urllib3; cooperative once gevent has patched the stdlib.

**Knows:** ``boto3.client`` / ``boto3.resource`` / ``boto3.Session`` and
``botocore.session.get_session().create_client``; every API method of a low-level client
(``botocore.client.BaseClient.*``: ``put_object``, ``send_message``, ``invoke``, the S3
transfer helpers ``upload_file`` / ``download_file`` …) except the local ones
(``generate_presigned_url``, ``generate_presigned_post``, ``get_paginator``,
``get_waiter``, ``can_paginate``, ``close``); paginators and waiters; resource objects
(``boto3.resources.base.ServiceResource.*``: sub-resources are lazy, their actions do
the IO, so the whole resource tree is treated as network IO).

**Under gevent:** safe after patching (botocore sends through urllib3). Imported before
``patch_all()`` it fails like urllib3: ``RecursionError`` on ``ssl`` options (boto3 #4061)
and the ``LifoQueue`` deadlock.

**Threads:** ``boto3.client()`` and ``boto3.resource()`` use the module's *default
session*, which is not thread-safe (``THREAD_UNSAFE``); resource objects are not
thread-safe either. Low-level clients are.

**Fix:** patch before importing boto3; on a threads pool create a
``boto3.session.Session()`` per thread (or one client at start-up, shared: clients are
thread-safe).

**Sources:** boto3 docs, "Multithreading or multiprocessing with clients" and "Session"
guides; boto3 #1592 and #2750 (concurrent default-session client creation:
``KeyError: 'credential_provider'``), botocore PR #2985 (maintainers: "Sessions are
not thread safe"); boto3 #4061, gevent #1531, #1957.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_CLIENT = "botocore.client.BaseClient"
_RESOURCE = "boto3.resources.base.ServiceResource"
_SESSION_NOTE = "uses boto3's default session, which is not thread-safe"
_NOT_THREAD_SAFE = frozenset({Hazard.THREAD_UNSAFE})

PLUGIN = Plugin(
    name="boto3",
    modules=("boto3", "botocore"),
    distributions=("boto3", "botocore"),
    summary="AWS SDK: network IO, cooperative after patching; default session not thread-safe.",
    calls=(
        Call("boto3.client", None, Green.SAFE, _NOT_THREAD_SAFE, _CLIENT, _SESSION_NOTE),
        Call("boto3.resource", None, Green.SAFE, _NOT_THREAD_SAFE, _RESOURCE, _SESSION_NOTE),
        ctor("boto3.Session", "boto3.session.Session"),
        ctor("boto3.session.Session", "boto3.session.Session"),
        ctor("boto3.session.Session.client", _CLIENT),
        ctor("boto3.session.Session.resource", _RESOURCE),
        ctor("botocore.session.get_session", "botocore.session.Session"),
        ctor("botocore.session.Session.create_client", _CLIENT),
        Call(f"{_CLIENT}.*", Effect.NET_IO, note="every API operation is an HTTPS request"),
        *each(
            _CLIENT,
            ("generate_presigned_url", "generate_presigned_post", "can_paginate", "close"),
            None,
            Green.SAFE,
            note="local: signs or configures without a request",
        ),
        ctor(f"{_CLIENT}.get_paginator", "botocore.paginate.Paginator"),
        ctor(f"{_CLIENT}.get_waiter", "botocore.waiter.Waiter"),
        Call(
            "botocore.paginate.Paginator.paginate",
            Effect.NET_IO,
            note="lazy: each page is a request when the result is iterated",
        ),
        Call("botocore.waiter.Waiter.wait", Effect.NET_IO, note="polls with sleeps"),
        Call(
            f"{_RESOURCE}.*",
            Effect.NET_IO,
            returns=_RESOURCE,
            note="sub-resources are lazy; their actions and attribute loads are requests",
        ),
    ),
)
