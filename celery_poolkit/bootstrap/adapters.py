"""Run the plugins' runtime adapters once monkey patching is done, and record the results.

Each plugin names its adapter as an import string (``module:function``); the function
takes the :class:`~celery_poolkit.model.Pool`, imports its library lazily and returns an
:class:`~celery_poolkit.model.Adapted` (applied, or nothing to do). It raises
:class:`~celery_poolkit.errors.DidNotEnable` when the library is absent (recorded as
skipped: a built-in plugin for a library you do not use simply stays off) and anything
else when it failed: recorded as failed, never raised, because instrumentation must not
stop the worker it was meant to help. The start-up guard reports failures as errors.

The results are recorded here, in the process, whoever patched (``patch()``, Celery's own
``-P gevent`` through gevent's plugin events, a bare ``patch_all()``):
:func:`celery_poolkit.bootstrap.adapter_results` is what ``poolkit doctor`` and the guard read.
"""

from __future__ import annotations

from celery_poolkit.bootstrap import _state
from celery_poolkit.errors import DidNotEnable
from celery_poolkit.model import Adapted, AdapterResult, AdapterStatus, Pool
from celery_poolkit.plugins.base import Plugin, resolve

__all__ = ["resolve", "run_adapter", "run_adapters"]


def run_adapter(plugin: Plugin, pool: Pool) -> AdapterResult:
    """Run one plugin's adapter, once per process; later calls return the first outcome."""
    if plugin.name in _state.adapters:
        return _state.adapters[plugin.name]
    try:
        outcome = resolve(plugin.adapter)(pool)
        if not isinstance(outcome, Adapted):
            raise TypeError(f"the adapter returned {outcome!r}, not an Adapted result")
    except DidNotEnable as exc:
        result = AdapterResult(plugin.name, AdapterStatus.SKIPPED, str(exc))
    except Exception as exc:
        result = AdapterResult(plugin.name, AdapterStatus.FAILED, f"{type(exc).__name__}: {exc}")
    else:
        result = AdapterResult(plugin.name, outcome.status, outcome.detail)
    _state.adapters[plugin.name] = result
    return result


def run_adapters(pool: Pool) -> tuple[AdapterResult, ...]:
    """Every runtime plugin's adapter for ``pool`` (built-in first, then third-party), and
    a FAILED result for each third-party plugin that could not be loaded."""
    if _state.disabled():
        return ()
    from celery_poolkit.plugins import entry_point_plugins, runtime_plugins

    results = [run_adapter(plugin, pool) for plugin in runtime_plugins() if plugin.adapter]
    for name, error in entry_point_plugins()[1]:
        result = _state.adapters.setdefault(
            f"entry-point:{name}",
            AdapterResult(f"entry-point:{name}", AdapterStatus.FAILED,
                          f"the plugin could not be loaded ({error}); its adapter did not run"),
        )  # fmt: skip
        results.append(result)
    return tuple(results)
