"""Send tasks by name from a bare Celery client and collect their results.

Tests never import the project's task code into the test process; they send by name,
as another service would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from celery import Celery


def run_tasks(
    app: Celery,
    name: str,
    args_list: Iterable[Sequence[Any]],
    *,
    queue: str | None = None,
    timeout: float = 30.0,
) -> list[Any]:
    """Send one task per argument tuple, then wait for every result, in order."""
    results = [app.send_task(name, tuple(args), queue=queue) for args in args_list]
    try:
        return [r.get(timeout=timeout) for r in results]
    finally:
        # An AsyncResult unsubscribes from the Redis backend when it is collected; drop
        # them now, while the server is up, even if a traceback keeps this frame alive.
        results.clear()


def run_task(
    app: Celery, name: str, *args: Any, queue: str | None = None, timeout: float = 30.0
) -> Any:
    (value,) = run_tasks(app, name, [args], queue=queue, timeout=timeout)
    return value


def unacked_task_ids(redis_client: Any) -> set[str]:
    """The task ids of the messages kombu's Redis transport holds as delivered and not
    acked (the ``unacked`` hash: ``[message, exchange, routing_key]`` in JSON)."""
    ids = set()
    for raw in redis_client.hvals("unacked"):
        message = json.loads(raw)[0]
        ids.add(str(message.get("headers", {}).get("id")))
    return ids


def hash_counts(client: Any, key: str) -> dict[str, int]:
    """A Redis hash of counters (``key``), decoded: field -> count."""
    return {k.decode(): int(v) for k, v in client.hgetall(key).items()}
