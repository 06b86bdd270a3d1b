"""The shape of a plugin: one library's static knowledge plus its runtime hooks.

A plugin module defines ``PLUGIN = Plugin(...)`` at module level. Importing the module
must never import the library itself: the advisor reads ``calls`` where the library is
not installed. The runtime hooks are import strings (``"module:function"``), resolved
only when the bootstrap, ``poolkit doctor`` or the start-up guard needs them, and each
imports its library inside the function, if at all.

The runtime hooks, all optional, each called with the green :class:`~celery_poolkit.model.Pool`:

``hazards``
    before patching: ``(pool) -> Iterable[PatchHazard]``, what earlier imports of the
    library captured unpatched. Reads ``sys.modules`` only: importing the library here
    would itself be the late import it looks for.
``adapter``
    right after patching: ``(pool) -> Adapted`` (applied, or nothing to do). Raises
    :class:`~celery_poolkit.errors.DidNotEnable` when the library is absent or the pool
    does not apply (the plugin stays off), anything else when it failed: the failure is
    recorded, and the start-up guard reports it as an error (PK805).
``driver_state``
    after patching, in a process that runs the pool: ``(pool) -> DriverState | None``,
    whether the installed library cooperates (None: not installed, nothing to say).

``min_version`` is data: the oldest version of the library (its first installed
distribution) that works under a green pool, with ``min_version_why``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery_poolkit.errors import DidNotEnable
from celery_poolkit.model import Call, Pool

#: The fix of every "imported before patching" hazard.
PATCH_FIRST = (
    "make `import celery_poolkit; celery_poolkit.patch()` the first line of the entry point, "
    "or launch with `poolkit worker ...`"
)


@dataclass(frozen=True, slots=True)
class Plugin:
    """What poolkit knows about one third-party library.

    ``name`` is the plugin's stable identifier (used in config and reports).
    ``modules`` are the top-level import names whose calls ``calls`` describe.
    ``distributions`` are the PyPI names that provide them (for version reports).
    ``adapter``, ``hazards`` and ``driver_state`` are the runtime hooks (see the module
    docstring); ``min_version`` the oldest version that is green, as data.
    """

    name: str
    modules: tuple[str, ...]
    distributions: tuple[str, ...] = ()
    calls: tuple[Call, ...] = ()
    adapter: str = ""
    summary: str = ""
    hazards: str = ""
    driver_state: str = ""
    min_version: tuple[int, ...] = ()
    min_version_why: str = ""

    @property
    def has_runtime_hooks(self) -> bool:
        return bool(self.adapter or self.hazards or self.driver_state or self.min_version)

    def hook(self, name: str) -> Callable[..., Any] | None:
        """The runtime hook ``name`` (``"adapter"``, ``"hazards"``, ``"driver_state"``)
        as a function, or None when the plugin has none. Imports only the hook's module."""
        ref: str = getattr(self, name)
        if not ref:
            return None
        return resolve(ref)


def resolve(ref: str) -> Callable[..., Any]:
    """``"pkg.mod:func"`` -> the function (imports only ``pkg.mod``)."""
    module, _, attr = ref.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return function


def require(
    module: str,
    pool: Pool,
    *,
    name: str = "",
    pools: tuple[Pool, ...] = (Pool.GEVENT,),
    otherwise: str = "",
) -> None:
    """An adapter's first line: raise ``DidNotEnable`` (the plugin stays off) unless
    ``module`` is installed (``name`` is how the message calls it) and ``pool`` is one of
    ``pools`` (``otherwise`` says why not). Finds the module without importing it."""
    if importlib.util.find_spec(module) is None:
        raise DidNotEnable(f"{name or module} is not installed")
    if pool not in pools:
        raise DidNotEnable(otherwise or f"not needed under {pool.value}")
