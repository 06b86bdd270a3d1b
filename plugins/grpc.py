"""grpcio: its C core runs its own polling and hangs under gevent without init_gevent().

``grpc.experimental.gevent.init_gevent()`` must run after the standard library is
patched and before any grpc object is created (grpc's docstring), which is exactly
when gevent's ``did_patch_builtins`` event fires. There is no eventlet support.
"""

from __future__ import annotations

import importlib.util

from celery_poolkit.errors import DidNotEnable
from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins.base import Plugin

_NET = Effect.NET_IO
_ADAPT = Green.NEEDS_ADAPTER
_FORK = frozenset({Hazard.FORK_UNSAFE})

PLUGIN = Plugin(
    name="grpc",
    modules=("grpc",),
    distributions=("grpcio",),
    adapter="celery_poolkit.plugins.grpc:init_gevent",
    summary="gRPC: green under gevent once init_gevent() ran (poolkit calls it); channels "
    "do not survive fork.",
    calls=(
        Call("grpc.insecure_channel", None, _ADAPT, _FORK, returns="grpc.Channel"),
        Call("grpc.secure_channel", None, _ADAPT, _FORK, returns="grpc.Channel"),
        Call("grpc.Channel.unary_unary", None, _ADAPT, returns="grpc.UnaryUnaryMultiCallable"),
        Call("grpc.UnaryUnaryMultiCallable.__call__", _NET, _ADAPT),
        Call("grpc.UnaryUnaryMultiCallable.future", _NET, _ADAPT),
        Call("grpc.channel_ready_future", _NET, _ADAPT),
    ),
)


def init_gevent(pool: str) -> str:
    """Call ``grpc.experimental.gevent.init_gevent()`` under gevent."""
    if importlib.util.find_spec("grpc") is None:
        raise DidNotEnable("grpcio is not installed")
    if pool != "gevent":
        raise DidNotEnable(f"grpc has no {pool} support; its calls block the hub")
    from grpc.experimental import gevent as grpc_gevent

    grpc_gevent.init_gevent()
    return "grpc.experimental.gevent.init_gevent() called"
