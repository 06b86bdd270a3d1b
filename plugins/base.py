"""The shape of a plugin: one library's static knowledge plus its runtime adapter.

A plugin module defines ``PLUGIN = Plugin(...)`` at module level. Importing the module
must never import the library itself: the advisor reads ``calls`` where the library is
not installed. Only ``adapter`` (an import string, resolved when the bootstrap needs it)
touches the library, and it imports it inside the function.
"""

from __future__ import annotations

from dataclasses import dataclass

from celery_poolkit.model import Call


@dataclass(frozen=True, slots=True)
class Plugin:
    """What poolkit knows about one third-party library.

    ``name`` is the plugin's stable identifier (used in config and reports).
    ``modules`` are the top-level import names whose calls ``calls`` describe.
    ``distributions`` are the PyPI names that provide them (for version reports).
    ``adapter`` is ``"module:function"``; the function takes the pool name
    (``"gevent"``/``"eventlet"``), runs after monkey patching, imports its library lazily
    and raises :class:`celery_poolkit.errors.DidNotEnable` when the library is absent.
    """

    name: str
    modules: tuple[str, ...]
    distributions: tuple[str, ...] = ()
    calls: tuple[Call, ...] = ()
    adapter: str = ""
    summary: str = ""
