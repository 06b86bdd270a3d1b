"""Shared value types: frozen dataclasses and enums.

This module imports nothing from the project, so the advisor, the plugins, the runtime
and the CLI can all depend on it without cycles.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Pool(str, enum.Enum):
    """A Celery execution pool, by the name ``celery worker -P`` takes."""

    PREFORK = "prefork"
    THREADS = "threads"
    GEVENT = "gevent"
    EVENTLET = "eventlet"
    SOLO = "solo"

    @property
    def is_green(self) -> bool:
        """True for the pools that need monkey patching before anything else runs."""
        return self in (Pool.GEVENT, Pool.EVENTLET)

    @classmethod
    def parse(cls, value: str) -> Pool:
        """Map a ``-P`` value to a pool, accepting Celery's aliases.

        Celery resolves ``processes`` to prefork, and ``worker_pool`` may hold the pool's
        import path instead of its alias (``celery.concurrency.gevent:TaskPool``).

        >>> Pool.parse("processes")
        <Pool.PREFORK: 'prefork'>
        >>> Pool.parse("celery.concurrency.gevent:TaskPool")
        <Pool.GEVENT: 'gevent'>
        """
        name = value.strip().lower()
        if name in _IMPORT_PATHS:
            return _IMPORT_PATHS[name]
        if name == "processes":
            return cls.PREFORK
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(p.value for p in cls)
            raise ValueError(
                f"unknown pool {value!r}: choose one of {choices} (or 'processes', "
                "Celery's alias for prefork)"
            ) from None


_IMPORT_PATHS = {
    "celery.concurrency.prefork:taskpool": Pool.PREFORK,
    "celery.concurrency.thread:taskpool": Pool.THREADS,
    "celery.concurrency.gevent:taskpool": Pool.GEVENT,
    "celery.concurrency.eventlet:taskpool": Pool.EVENTLET,
    "celery.concurrency.solo:taskpool": Pool.SOLO,
}


@dataclass(frozen=True, slots=True)
class Location:
    """A place in the analysed code. ``path`` is relative to the analysed root."""

    path: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"
