"""Safe monkey patching for green Celery pools: detect, scan, patch, adapt, report.

Import-light by rule (gevent's own: "keep imports as limited and localized as possible
to avoid interfering with the monkey-patch process"): this package never imports celery,
and imports gevent, eventlet and the drivers only inside the functions that patch.

    import celery_poolkit
    celery_poolkit.patch()          # "auto": the pool from argv / CELERY_WORKER_POOL
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence

from celery_poolkit.bootstrap import _state
from celery_poolkit.bootstrap.argv import PoolChoice, detect_pool
from celery_poolkit.bootstrap.results import (
    AdapterResult,
    AdapterStatus,
    PatchHazard,
    PatchResult,
)
from celery_poolkit.errors import PatchError, PatchOrderError, PoolSelectionError
from celery_poolkit.model import Pool

__all__ = [
    "AdapterResult",
    "AdapterStatus",
    "LatePatchWarning",
    "PatchHazard",
    "PatchResult",
    "PoolChoice",
    "adapter_results",
    "current_pool",
    "hazards_before_patching",
    "last_result",
    "patch",
]


class LatePatchWarning(RuntimeWarning):
    """Patching went ahead although modules had captured unpatched objects."""


def current_pool() -> Pool | None:
    """The green library that patched this process (by anyone), or None."""
    from celery_poolkit.bootstrap import _eventlet, _gevent

    if _gevent.is_patched():
        return Pool.GEVENT
    if _eventlet.is_patched():
        return Pool.EVENTLET
    return None


def last_result() -> PatchResult | None:
    """The report of the last ``patch()`` call in this process, if any."""
    return _state.last_result[-1] if _state.last_result else None


def hazards_before_patching() -> tuple[PatchHazard, ...]:
    """The hazards found just before this process was patched, whoever patched it
    (``patch()``, or gevent's ``will_patch_all`` event under Celery's own ``-P gevent``)."""
    report = last_result()
    if report is not None and report.hazards:
        return report.hazards
    return _state.early_hazards or ()


def adapter_results() -> tuple[AdapterResult, ...]:
    """Every plugin adapter's outcome recorded in this process, whoever patched it."""
    return tuple(_state.adapters.values())


def _choose(
    pool: str | Pool | PoolChoice, argv: Sequence[str] | None, environ: Mapping[str, str] | None
) -> PoolChoice | None:
    if isinstance(pool, PoolChoice):
        return pool
    if isinstance(pool, Pool):
        return PoolChoice(pool, "argument", pool.value)
    if pool.strip().lower() == "auto":
        return detect_pool(sys.argv[1:] if argv is None else argv,
                           os.environ if environ is None else environ)  # fmt: skip
    try:
        return PoolChoice(Pool.parse(pool), "argument", pool)
    except ValueError as exc:
        raise PoolSelectionError(f"celery_poolkit.patch(): {exc}") from None


def _check_can_patch(pool: Pool) -> None:
    import threading  # patching imports it anyway; gevent repairs its state

    # The other library first: once eventlet (or gevent) patched threading, the main
    # thread's current_thread() is a green thread, and the thread check below would
    # blame the wrong thing.
    other = current_pool()
    if other is not None and other is not pool:
        raise PatchError(
            f"this process is already patched by {other.value}; it cannot also be patched "
            f"by {pool.value}: run one green library per process (pick -P {other.value} or "
            f"remove the code that patches with {other.value})"
        )
    if other is None and threading.current_thread() is not threading.main_thread():
        raise PatchError(
            f"celery_poolkit.patch({pool.value!r}) was called from thread "
            f"{threading.current_thread().name!r}: monkey patching must run in the main "
            "thread, before any other thread starts; call it first thing in the entry point"
        )


def patch(
    pool: str | Pool | PoolChoice = "auto",
    *,
    strict: bool = False,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PatchResult:
    """Monkey patch this process for ``pool``, once; return what was found and done.

    ``pool`` is ``"gevent"``, ``"eventlet"`` (legacy), any other pool name (nothing to
    patch), a :class:`~celery_poolkit.bootstrap.argv.PoolChoice` (a pool and where
    it was found, as the launcher passes it) or ``"auto"``: the pool named by ``argv``
    (default ``sys.argv[1:]``; ``-P X``, ``-PX``, ``--pool=X``, ``--pool X``, clustered
    flags) or ``environ`` (default ``os.environ``; ``CELERY_WORKER_POOL``,
    ``CELERY_CUSTOM_WORKER_POOL``).

    Before patching, the hazard scan looks for modules that already captured unpatched
    objects. They are reported (and warned about with :class:`LatePatchWarning`); with
    ``strict=True`` a :class:`~celery_poolkit.errors.PatchOrderError` is raised instead
    and nothing is patched. After patching, every plugin's adapter runs (psycopg2 wait
    callback, urllib3 queue class, grpc …). Calling it again is harmless.

    Raises :class:`~celery_poolkit.errors.PoolSelectionError` for an unknown or
    ambiguous pool and :class:`~celery_poolkit.errors.PatchError` when patching cannot
    be done safely; in both cases nothing was patched.
    """
    if _state.disabled():
        report = PatchResult(pool=None, source=f"{_state.DISABLE_ENV}=1", disabled=True)
        _state.last_result.append(report)
        return report
    choice = _choose(pool, argv, environ)
    if choice is None or choice.pool is None or not choice.pool.is_green:
        notes: tuple[str, ...] = ()
        if choice is not None and choice.pool is None:
            notes = (f"custom pool {choice.raw!r} is not one poolkit knows; patch in that "
                     "pool's module, or use -P gevent",)  # fmt: skip
        report = PatchResult(
            pool=choice.pool if choice else None,
            source=choice.source if choice else "no pool named in argv or environment",
            notes=notes,
        )
        _state.last_result.append(report)
        return report
    green = choice.pool
    _check_can_patch(green)
    report = _patch_green(green, choice.source, strict=strict)
    _state.last_result.append(report)
    return report


def _patch_green(pool: Pool, source: str, *, strict: bool) -> PatchResult:
    from celery_poolkit.bootstrap import _eventlet, _gevent, hazards
    from celery_poolkit.bootstrap.adapters import run_adapters

    backend = _gevent if pool is Pool.GEVENT else _eventlet
    notes: tuple[str, ...] = (_eventlet.DEPRECATION,) if pool is Pool.EVENTLET else ()
    if pool is Pool.EVENTLET:
        warnings.warn(_eventlet.DEPRECATION, DeprecationWarning, stacklevel=3)
    if backend.is_patched():
        # Patched before us (Celery's -P gevent, the user, an earlier call): scanning
        # now would only see modules imported after patching, which are fine.
        return PatchResult(
            pool=pool,
            source=source,
            already_patched=True,
            modules=backend.patched_modules(),
            hazards=_state.early_hazards or (),
            adapters=run_adapters(pool),
            notes=notes,
        )
    found = hazards.scan(pool)
    _state.early_hazards = found  # gevent's will_patch_all event need not scan again
    if found and strict:
        listing = "\n".join(f"  - {h}" for h in found)
        raise PatchOrderError(
            f"refusing to patch for {pool.value} late (strict=True); nothing was patched. "
            f"These modules were imported first:\n{listing}",
            found,
        )
    for hazard in found:
        warnings.warn(str(hazard), LatePatchWarning, stacklevel=3)
    caught = backend.patch()
    return PatchResult(
        pool=pool,
        source=source,
        patched_now=True,
        modules=backend.patched_modules(),
        hazards=found,
        adapters=run_adapters(pool),
        notes=notes,
        warnings=caught,
    )
