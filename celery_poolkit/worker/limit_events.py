"""A worker's time-limit hits and recycles, on every pool, for its metrics (issue 14).

Where each is seen, in the worker's main process (where the metrics are served):

* Celery's own limits call ``Request.on_timeout``: prefork's soft and hard limits
  (billiard's timeout handler, in the main process), gevent's cooperative hard limit, and
  poolkit's hard limit on threads and solo (:mod:`celery_poolkit.worker.limits` fails the
  task through it). :meth:`LimitEvents.connect` wraps that one method, and
  :meth:`LimitEvents.disconnect` puts it back;
* poolkit's soft limits (threads, solo, gevent) and its non-cooperative gevent fallback
  do not call it: :class:`~celery_poolkit.worker.limits.LimitEnforcer` reports them
  through its ``on_limit`` hook;
* recycles: a one-process pool's :class:`~celery_poolkit.worker.recycle.Recycler` reports
  its request (``on_request``). The process then replaces itself with ``os.execve``, so
  the counts so far (recycles by reason, limit hits by task: the hard limit that made
  the recycle among them) ride in :data:`CARRIED_ENV`, which the recycler copies from
  ``os.environ``: the new process starts from them and the series never go back. On
  prefork a hard limit kills the child (counted at ``on_timeout``); a child that exits
  with billiard's ``EX_RECYCLE`` says why through the profile's pipe
  (:mod:`celery_poolkit.worker.children`).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Protocol

from celery_poolkit.model import Pool

logger = logging.getLogger("celery_poolkit")

#: The ``reason`` of a recycle: max_tasks_per_child, max_memory_per_child, a hard limit.
RECYCLE_REASONS = ("tasks", "memory", "hard-limit")
#: This worker's counts before its last ``os.execve`` (JSON: ``recycles`` by reason,
#: ``soft``/``hard`` limit hits by task).
CARRIED_ENV = "POOLKIT_LIMIT_COUNTS"
#: Task names carried across ``os.execve`` at most (the env var stays a few KiB).
MAX_CARRIED_TASKS = 100
_MAX_ENV = 64 * 1024
KINDS = ("soft", "hard")


class LimitObserver(Protocol):
    """Sees every limit hit and recycle (the metrics exporters); quick, never raises."""

    def limit_hit(self, task: str, kind: str, count: int = 1) -> None: ...

    def recycled(self, reason: str, count: int = 1) -> None: ...


def recycle_reason(text: str) -> str:
    """The reason label of a :class:`~celery_poolkit.worker.recycle.Recycler` request."""
    if "hard time limit" in text:
        return "hard-limit"
    if "max_memory_per_child" in text:
        return "memory"
    if "max_tasks_per_child" in text:
        return "tasks"
    return "other"


Counts = dict[str, dict[str, int]]  # "recycles" / "soft" / "hard" -> key -> count


def carried(environ: dict[str, str] | None = None) -> Counts:
    """The counts :data:`CARRIED_ENV` holds; anything malformed is left out."""
    counts: Counts = {"recycles": {}, "soft": {}, "hard": {}}
    value = (os.environ if environ is None else environ).get(CARRIED_ENV, "")
    if not value or len(value) > _MAX_ENV:
        return counts
    try:
        data = json.loads(value)
    except ValueError:
        return counts
    if not isinstance(data, dict):
        return counts
    for key, kept in counts.items():
        entries = data.get(key)
        if not isinstance(entries, dict):
            continue
        for name, number in list(entries.items())[: MAX_CARRIED_TASKS + len(RECYCLE_REASONS)]:
            if (isinstance(name, str) and len(name) <= 200 and isinstance(number, int)
                    and not isinstance(number, bool) and 0 < number < 10**12):  # fmt: skip
                kept[name] = number
    return counts


_ORIGINAL: dict[str, Any] = {}  # Request.on_timeout before connect() wrapped it


class LimitEvents:
    """The limit hits and recycles of one worker process, told to its observers."""

    def __init__(self, pool: Pool | None, observers: list[LimitObserver]) -> None:
        self.pool = pool
        self.observers = observers
        self.counts = carried()
        self.closers: list[Any] = []  # undone by disconnect (the children's reporter)
        for observer in observers:
            for reason, count in self.counts["recycles"].items():
                observer.recycled(reason, count)
            for kind in KINDS:
                for task, count in self.counts[kind].items():
                    observer.limit_hit(task, kind, count)

    def hit(self, task: str, kind: str) -> None:
        hits = self.counts[kind]
        if task in hits or len(hits) < MAX_CARRIED_TASKS:
            hits[task] = hits.get(task, 0) + 1
        for observer in self.observers:
            observer.limit_hit(task, kind)

    def recycled(self, reason: str) -> None:
        recycles = self.counts["recycles"]
        recycles[reason] = recycles.get(reason, 0) + 1
        for observer in self.observers:
            observer.recycled(reason)

    def recycle_requested(self, text: str) -> None:
        """A one-process pool's recycler replaces this process: count it, and carry the
        counts across ``os.execve`` (side effect: ``os.environ[CARRIED_ENV]``)."""
        self.recycled(recycle_reason(text))
        os.environ[CARRIED_ENV] = json.dumps(self.counts, separators=(",", ":"))

    def on_timeout(self, request: Any, soft: bool) -> None:
        name = str(getattr(request, "name", None) or "?")
        self.hit(name, "soft" if soft else "hard")
        if not soft and self.pool is Pool.PREFORK:
            self.recycled("hard-limit")  # billiard kills the child that ran it

    def connect(self, enforcer: Any = None) -> None:
        """Side effects: wrap Celery's ``Request.on_timeout``; hook poolkit's enforcer
        and recycler (threads, gevent, solo), when there is one."""
        from celery.worker.request import Request

        if "on_timeout" not in _ORIGINAL:
            _ORIGINAL["on_timeout"] = Request.on_timeout
        original = _ORIGINAL["on_timeout"]
        events = self

        def on_timeout(request: Any, soft: bool, timeout: float) -> Any:
            try:
                events.on_timeout(request, soft)
            except Exception:  # the metrics must never stop a time limit
                logger.exception("poolkit: counting a time limit failed")
            return original(request, soft, timeout)

        Request.on_timeout = on_timeout
        if enforcer is not None:
            enforcer.on_limit = self.hit
            enforcer.recycler.on_request = self.recycle_requested

    def disconnect(self, enforcer: Any = None) -> None:
        from celery.worker.request import Request

        original = _ORIGINAL.pop("on_timeout", None)
        if original is not None:
            Request.on_timeout = original
        if enforcer is not None:
            enforcer.on_limit = None
            enforcer.recycler.on_request = None
        for close in self.closers:
            close()
        self.closers.clear()
