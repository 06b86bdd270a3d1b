"""Patching with eventlet (legacy): supported where users insist, always with a way out.

Eventlet is deprecated upstream (its README: "New usages of eventlet are now heavily
discouraged"; Celery issue #9257), and ``celery[eventlet]`` installs nothing on
Python >= 3.10. Every use says so and how to move to gevent.
"""

from __future__ import annotations

import sys
import warnings

from celery_poolkit.errors import PatchError

DEPRECATION = (
    "eventlet is deprecated upstream (maintenance only, retirement planned) and psycopg 3 "
    "does not support it; move to gevent: `pip install 'celery-poolkit[gevent]'` and run "
    "`poolkit worker -P gevent ...` (tasks written for eventlet run unchanged under gevent "
    "unless they import eventlet APIs directly)"
)


def patched_modules() -> tuple[str, ...]:
    """What eventlet has patched in this process: ``patcher.already_patched``'s names."""
    return tuple(sorted(getattr(sys.modules.get("eventlet.patcher"), "already_patched", {})))


def is_patched() -> bool:
    """True when eventlet has patched ``socket`` (``patcher.is_monkey_patched`` reads
    ``already_patched`` the same way)."""
    return "socket" in patched_modules()


def patch() -> tuple[str, ...]:
    """``eventlet.monkey_patch()`` (which also greens psycopg2); return its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import eventlet
        except ImportError as exc:
            raise PatchError(
                f"the eventlet pool needs eventlet, which is not importable ({exc}); "
                f"better: {DEPRECATION}"
            ) from None
        eventlet.monkey_patch()
    for item in caught:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if not is_patched():
        raise PatchError("eventlet.monkey_patch() did not patch socket")
    return tuple(str(item.message).splitlines()[0] for item in caught)
