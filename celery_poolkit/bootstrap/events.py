"""gevent plugin entry points: poolkit's part of *anyone's* ``gevent.monkey.patch_all()``.

gevent calls these through the ``gevent.plugins.monkey.*`` entry-point groups declared
in pyproject.toml, so they also run inside Celery's own ``-P gevent`` patching and a
user's bare ``patch_all()``, with no code change. They must never raise: an exception
here propagates out of ``patch_all()`` and skips the remaining subscribers, and a
``DoNotPatch`` veto would disable gevent patching for the whole process (gevent keeps
the vetoed settings, so later ``patch_all()`` calls patch nothing).
"""

from __future__ import annotations

from celery_poolkit.bootstrap import _state


def will_patch_all(event: object) -> None:
    """Record the hazards that exist just before gevent patches (for doctor/bootstep)."""
    if _state.disabled() or _state.early_hazards is not None:
        return
    try:
        from celery_poolkit.bootstrap.hazards import scan
        from celery_poolkit.model import Pool

        _state.early_hazards = scan(Pool.GEVENT)
    except Exception:
        pass


def did_patch_builtins(event: object) -> None:
    """Run every plugin adapter once the standard library is patched.

    gevent's docs name this "usually the event to listen for" when patching a
    third-party library: the stdlib is green, user code has not run yet.
    """
    if _state.disabled():
        return
    try:
        from celery_poolkit.bootstrap.adapters import run_adapters
        from celery_poolkit.model import Pool

        run_adapters(Pool.GEVENT)
    except Exception:
        pass
