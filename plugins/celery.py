"""Celery itself: sending tasks is broker IO; waiting on results inside a task is not OK.

**Knows:** ``Task.delay`` / ``apply_async``, ``Celery.send_task``, signatures and canvas
(``signature``, ``group``, ``chain``, ``chord``: building is local, ``delay`` /
``apply_async`` publish), ``AsyncResult.get`` / ``GroupResult.get`` (wait on the result
backend), and ``app.control`` broadcasts (``revoke``, ``inspect``, ``ping`` …).

**Under gevent:** safe after patching (kombu over py-amqp or redis-py). Each publish takes
a connection from the broker pool, which is ``broker_pool_limit`` (10) per process:
raise it for high gevent concurrency. ``AsyncResult.get()`` inside a task blocks a pool
slot until another task finishes; Celery raises ``RuntimeError`` unless
``disable_sync_subtasks=False``, and with every slot waiting the worker deadlocks.

**Fix:** chain or chord instead of waiting on a subtask's result.

**Sources:** Celery docs ("Calling Tasks", "Canvas", "Avoid launching synchronous
subtasks", ``broker_pool_limit``); ``celery/result.py`` (``assert_will_not_block``);
celery-internals.md.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_B = Effect.BROKER_IO
_RESULT = "celery.result.AsyncResult"
_SIG = "celery.canvas.Signature"
_PUBLISH = ("delay", "apply_async")
_WAIT = "waits on the result backend; inside a task it can deadlock the pool"

PLUGIN = Plugin(
    name="celery",
    modules=("celery",),
    distributions=("celery",),
    summary="Celery's client API: publishing is broker IO; result waits are a hazard.",
    calls=(
        *each("celery.app.task.Task", _PUBLISH, _B, returns=_RESULT),
        *each("celery.Task", _PUBLISH, _B, returns=_RESULT),
        Call("celery.app.task.Task.retry", _B, note="republishes the task, then raises Retry"),
        ctor("celery.Celery", "celery.Celery"),
        Call("celery.Celery.send_task", _B, returns=_RESULT),
        Call("celery.current_app.send_task", _B, returns=_RESULT),
        Call("celery.Celery.control.*", _B, note="broadcast over the broker"),
        *(
            ctor(name, _SIG)
            for name in (
                "celery.signature",
                "celery.group",
                "celery.chain",
                "celery.chord",
                "celery.app.task.Task.s",
                "celery.app.task.Task.si",
                "celery.app.task.Task.signature",
            )
        ),
        *each(_SIG, _PUBLISH, _B, returns=_RESULT),
        Call(f"{_RESULT}.get", Effect.DB_IO, note=_WAIT),
        Call(f"{_RESULT}.wait", Effect.DB_IO, note=_WAIT),
        Call("celery.result.GroupResult.get", Effect.DB_IO, note=_WAIT),
        Call("celery.result.GroupResult.join", Effect.DB_IO, note=_WAIT),
    ),
)
