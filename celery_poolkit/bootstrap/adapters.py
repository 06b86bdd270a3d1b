"""Run the plugins' runtime adapters once monkey patching is done.

Each plugin names its adapter as an import string (``module:function``); the function
takes the pool name, imports its library lazily, raises
:class:`~celery_poolkit.errors.DidNotEnable` when the library is absent (swallowed: a
built-in plugin for a library you do not use simply stays off) and returns a short
description of what it did. An adapter that fails for any other reason is recorded, not
raised: instrumentation must never stop the worker it was meant to help.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from celery_poolkit.bootstrap import _state
from celery_poolkit.bootstrap.results import AdapterResult, AdapterStatus
from celery_poolkit.errors import DidNotEnable
from celery_poolkit.model import Pool

#: prefix of an adapter's return value meaning "library present, nothing needed".
NOTHING_TO_DO = "nothing to do: "


def resolve(adapter: str) -> Callable[[str], object]:
    """``"pkg.mod:func"`` -> the function (imports only ``pkg.mod``)."""
    module, _, attr = adapter.partition(":")
    return cast("Callable[[str], object]", getattr(importlib.import_module(module), attr))


def run_adapter(name: str, adapter: str, pool: Pool) -> AdapterResult:
    """Run one adapter, once per process; later calls return the first outcome."""
    if name in _state.adapters:
        return _state.adapters[name]
    try:
        detail = str(resolve(adapter)(pool.value) or "")
    except DidNotEnable as exc:
        result = AdapterResult(name, AdapterStatus.SKIPPED, str(exc))
    except Exception as exc:
        result = AdapterResult(name, AdapterStatus.FAILED, f"{type(exc).__name__}: {exc}")
    else:
        if detail.startswith(NOTHING_TO_DO):
            result = AdapterResult(
                name, AdapterStatus.NOTHING_TO_DO, detail.removeprefix(NOTHING_TO_DO)
            )
        else:
            result = AdapterResult(name, AdapterStatus.APPLIED, detail)
    _state.adapters[name] = result
    return result


def run_adapters(pool: Pool) -> tuple[AdapterResult, ...]:
    """Every built-in plugin's adapter for ``pool``, in ``BUILTIN`` order."""
    if _state.disabled():
        return ()
    from celery_poolkit.plugins import adapter_plugins

    return tuple(run_adapter(plugin.name, plugin.adapter, pool) for plugin in adapter_plugins())
