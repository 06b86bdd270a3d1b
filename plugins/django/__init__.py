"""Django: the green pooled PostgreSQL backend and per-task connection release.

``celery_poolkit.plugins.django.backends.postgresql`` is a database ``ENGINE``;
:func:`release_task_connections` gives a task's connections back to the pool when the
task ends. Neither imports Django until it is used.
"""

from __future__ import annotations

from celery_poolkit.plugins.django.tasks import release_task_connections

__all__ = ["release_task_connections"]
