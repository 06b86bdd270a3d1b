"""The bootstrap's process-wide state, in one place (gevent's ``saved`` pattern).

Adapters run from gevent's plugin events as well as from ``patch()``, so their outcomes
live here, keyed by plugin name: the first outcome wins and re-running is a no-op.
Private: the rest of poolkit reads it through ``celery_poolkit.bootstrap``
(``adapter_results()``, ``hazards_before_patching()``, ``last_result()``).
"""

from __future__ import annotations

import os

from celery_poolkit.bootstrap.results import AdapterResult, PatchHazard, PatchResult

#: plugin name -> outcome of its adapter in this process.
adapters: dict[str, AdapterResult] = {}
#: hazards found just before gevent patched (by ``patch()`` or by gevent's
#: ``will_patch_all`` event when someone else patched); None until a scan ran.
early_hazards: tuple[PatchHazard, ...] | None = None
#: the most recent report ``patch()`` returned.
last_result: list[PatchResult] = []

DISABLE_ENV = "POOLKIT_DISABLE"
STRICT_ENV = "POOLKIT_STRICT"
_TRUE = ("1", "true", "yes", "on")


def disabled() -> bool:
    """``POOLKIT_DISABLE=1`` (or true/yes/on) turns the bootstrap and every adapter off."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() in _TRUE


def strict_from_env() -> bool:
    """``POOLKIT_STRICT=1``: the launcher and ``autopatch`` refuse to patch late."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in _TRUE
