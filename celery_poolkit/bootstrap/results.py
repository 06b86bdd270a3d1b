"""What patching found and did, as frozen values the CLI, doctor and the guard render.

The hazards and adapter results themselves are shared types (:mod:`celery_poolkit.model`):
the plugins' runtime hooks return them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from celery_poolkit.model import AdapterResult, AdapterStatus, PatchHazard, Pool

__all__ = ["AdapterResult", "AdapterStatus", "PatchHazard", "PatchResult"]


@dataclass(frozen=True, slots=True)
class PatchResult:
    """What ``celery_poolkit.patch()`` found and did.

    ``pool`` is the pool patched for (None: nothing to patch, e.g. prefork);
    ``source`` says where the pool came from; ``patched_now`` is True when this call
    ran the library's monkey patching and ``already_patched`` when an earlier call (ours,
    Celery's or the user's) had; ``hazards`` were found before patching; ``adapters``
    are every plugin adapter's outcome in this process; ``notes`` are advice to show
    (eventlet's deprecation, a custom pool left alone); ``warnings`` are the library's
    own patch warnings, captured.
    """

    pool: Pool | None
    source: str
    patched_now: bool = False
    already_patched: bool = False
    disabled: bool = False
    modules: tuple[str, ...] = ()
    hazards: tuple[PatchHazard, ...] = ()
    adapters: tuple[AdapterResult, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def patched(self) -> bool:
        """True when the process is monkey patched for ``pool`` now."""
        return self.patched_now or self.already_patched

    def summary(self) -> str:
        """One line for a launcher's stderr."""
        if self.disabled:
            return "poolkit: POOLKIT_DISABLE is set; nothing patched"
        if self.pool is None or not self.pool.is_green:
            what = self.pool.value if self.pool else "no green pool"
            return f"poolkit: {what} (from {self.source}); nothing to patch"
        state = "patched" if self.patched_now else "already patched"
        applied = [a.plugin for a in self.adapters if a.status is AdapterStatus.APPLIED]
        adapters = f"; adapters: {', '.join(applied)}" if applied else ""
        late = f"; {len(self.hazards)} hazard(s)" if self.hazards else ""
        return f"poolkit: {state} for {self.pool.value} (from {self.source}){adapters}{late}"
