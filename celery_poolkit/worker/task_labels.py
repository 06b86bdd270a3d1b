"""The bounded ``task`` label (attribute) of the worker's metrics, Prometheus and OTel alike.

A metric label takes at most :data:`MAX_TASK_LABELS` task names in a process (the
profile's own cap); runs of any further name are counted under ``(other)``. Hub blocks no
task caused (the worker's own code) carry :data:`NO_TASK`.
"""

from __future__ import annotations

import threading

from celery_poolkit.worker.profile import MAX_TASKS, OTHER

MAX_TASK_LABELS = MAX_TASKS
NO_TASK = "(none)"


class TaskLabels:
    """Task name -> label value: the first ``limit`` names as they are, then OTHER."""

    def __init__(self, limit: int = MAX_TASK_LABELS) -> None:
        self.limit = limit
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, name: str | None) -> str:
        if name is None:
            return NO_TASK
        if name in self.seen:
            return name
        with self.lock:
            if len(self.seen) < self.limit:
                self.seen.add(name)
                return name
        return OTHER
