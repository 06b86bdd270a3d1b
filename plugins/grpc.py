"""grpcio: its C core runs its own polling and hangs under gevent without init_gevent().

``grpc.experimental.gevent.init_gevent()`` must run after the standard library is
patched and before any grpc object is created (grpc's docstring), which is exactly
when gevent's ``did_patch_builtins`` event fires. There is no eventlet support.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from celery_poolkit.model import Adapted, Call, Effect, Green, Hazard, PatchHazard, Pool
from celery_poolkit.plugins.base import PATCH_FIRST, Plugin, require

_NET = Effect.NET_IO
_ADAPT = Green.NEEDS_ADAPTER
_FORK = frozenset({Hazard.FORK_UNSAFE})

PLUGIN = Plugin(
    name="grpc",
    modules=("grpc",),
    distributions=("grpcio",),
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
    adapter="celery_poolkit.plugins.grpc:init_gevent",
    hazards="celery_poolkit.plugins.grpc:hazards",
)


def hazards(pool: Pool) -> Iterator[PatchHazard]:
    """Before patching: grpc is imported already (and maybe has channels)."""
    if sys.modules.get("grpc") is None:
        return
    channel_cls = getattr(sys.modules.get("grpc._channel"), "Channel", None)
    live = 0
    if channel_cls is not None:
        import gc

        live = sum(1 for o in gc.get_objects() if isinstance(o, channel_cls))
    extra = f" and {live} channel(s) already exist" if live else ""
    yield PatchHazard(
        "grpc-early",
        "grpc",
        f"grpc was imported before patching{extra}; init_gevent() must run before any "
        "grpc object is created, or calls hang (LoopExit).",
        f"import grpc after patching; {PATCH_FIRST}",
    )


def init_gevent(pool: Pool) -> Adapted:
    """Adapter: call ``grpc.experimental.gevent.init_gevent()`` under gevent (it swaps
    grpc's C-core polling for gevent's)."""
    require("grpc", pool, name="grpcio",
            otherwise=f"grpc has no {pool.value} support; its calls block the hub")  # fmt: skip
    from grpc.experimental import gevent as grpc_gevent

    grpc_gevent.init_gevent()
    return Adapted.applied("grpc.experimental.gevent.init_gevent() called")
