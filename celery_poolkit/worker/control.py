"""The ``poolkit_profile`` remote-control command: each worker's profile, on request.

``poolkit profile collect`` broadcasts it over the broker, the channel ``celery inspect``
uses, so collecting needs no new service. Importing this module registers the command
with Celery's control panel; :func:`celery_poolkit.install` does that at app import.
"""

from __future__ import annotations

from typing import Any

from celery.worker.control import inspect_command

COMMAND = "poolkit_profile"


@inspect_command(name=COMMAND)  # type: ignore[untyped-decorator,misc,unused-ignore]
def poolkit_profile(state: Any, **kwargs: Any) -> dict[str, Any]:
    """This worker's per-task profile (``celery_poolkit.worker.profile.WorkerProfile``)."""
    runtime = getattr(state.consumer.controller, "poolkit", None)
    if runtime is None:
        return {"error": "poolkit's profile is off in this worker (--no-poolkit-profile, "
                         "or the bootstep failed to start: see the worker log)"}  # fmt: skip
    result: dict[str, Any] = runtime.snapshot().as_dict()
    return result
