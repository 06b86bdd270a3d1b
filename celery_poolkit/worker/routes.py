"""The queue each task of a live Celery app routes to, asked of Celery's own router.

Used where poolkit holds a loaded app (the worker's start-up guard, and
``poolkit advise --import-app``), so router functions and globs resolve exactly as the
worker resolves them.
"""

from __future__ import annotations

from typing import Any


def live_routes(app: Any) -> dict[str, tuple[str, Any]]:
    """Task name -> (queue name, task), for every task but Celery's built-ins, in name order."""
    router = app.amqp.router
    routes: dict[str, tuple[str, Any]] = {}
    for name, task in sorted(app.tasks.items()):
        if name.startswith("celery."):
            continue
        own = getattr(task, "queue", None)
        queue = router.route({"queue": own} if own else {}, name).get("queue")
        routes[name] = (
            getattr(queue, "name", None) or str(queue or app.conf.task_default_queue),
            task,
        )
    return routes
