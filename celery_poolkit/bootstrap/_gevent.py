"""Patching with gevent: ``patch_all()`` once, warnings captured, the result verified."""

from __future__ import annotations

import sys
import warnings

from celery_poolkit.errors import PatchError

INSTALL_HINT = "install it with `pip install 'celery-poolkit[gevent]'`"


def patched_modules() -> tuple[str, ...]:
    """What gevent has patched in this process (by anyone): ``monkey.saved``'s names."""
    monkey = sys.modules.get("gevent.monkey")
    saved = getattr(monkey, "saved", {})
    return tuple(sorted(name for name in saved if not name.startswith("_")))


def is_patched() -> bool:
    """True when gevent has patched ``socket`` (gevent's ``is_module_patched`` reads
    ``saved`` the same way)."""
    return "socket" in patched_modules()


def patch() -> tuple[str, ...]:
    """Run ``gevent.monkey.patch_all()`` with its defaults; return gevent's warnings.

    The defaults are what ``celery worker -P gevent`` uses, so a later call by Celery is
    a no-op instead of a "patching with different arguments" warning.
    """
    try:
        from gevent import monkey
    except ImportError as exc:
        raise PatchError(f"the gevent pool needs gevent, which is not importable ({exc}): "
                         f"{INSTALL_HINT}") from None  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monkey.patch_all()
    # gevent queues its warnings until patching is over; replay them for the user after
    # we recorded them for the report.
    for item in caught:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if not is_patched():
        raise PatchError(
            "gevent.monkey.patch_all() did not patch socket: an earlier call was vetoed "
            "(a gevent.plugins.monkey.will_patch_all subscriber raised DoNotPatch), which "
            "disables gevent patching for the whole process; remove that subscriber"
        )
    return tuple(str(item.message).splitlines()[0] for item in caught)
