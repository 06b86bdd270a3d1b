"""ldap3: an LDAP client in pure Python; cooperative once gevent has patched.

**Knows:** ``ldap3.Server`` (builds a description, no IO), ``ldap3.Connection`` (connects
when ``auto_bind`` is set), and the connection's ``bind`` / ``rebind`` / ``open`` /
``search`` / ``add`` / ``modify`` / ``modify_dn`` / ``delete`` / ``compare`` /
``unbind`` and ``extend.*`` operations.

**Under gevent:** safe after patching: ldap3 speaks LDAP over Python's ``socket`` and
``ssl``. The default ``SYNC`` strategy waits for each answer; under gevent that wait
yields to other greenlets.

**Fix:** nothing beyond patching first; on a threads pool use one ``Connection`` per
thread (the ``SYNC`` strategy is not thread-safe; ``SAFE_SYNC`` is).

**Sources:** ldap3 docs ("Connection", "Client strategies": SYNC, SAFE_SYNC, ASYNC);
``ldap3/core/connection.py``.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import each
from celery_poolkit.plugins.base import Plugin

_CONN = "ldap3.Connection"
_OPS = ("bind", "rebind", "open", "search", "add", "modify", "modify_dn", "delete", "compare",
        "unbind")  # fmt: skip

PLUGIN = Plugin(
    name="ldap3",
    modules=("ldap3",),
    distributions=("ldap3",),
    summary="LDAP client in pure Python: cooperative after patching.",
    calls=(
        Call("ldap3.Server", None),
        Call(_CONN, Effect.NET_IO, returns=_CONN, note="connects when auto_bind is set"),
        *each(_CONN, _OPS, Effect.NET_IO),
        Call(f"{_CONN}.extend.*", Effect.NET_IO),
    ),
)
