"""Library knowledge, installed as ``celery_poolkit.plugins``: one module per library.

A plugin holds what poolkit knows about its library as data (what each call does, whether
it is safe under a green pool) and, where the library needs one, a runtime adapter that
imports the library lazily, so the advisor works where the library is not installed.

Third-party packages add plugins through the ``celery_poolkit.plugins`` entry-point group
(each entry point names a module that defines ``PLUGIN``).
"""

from __future__ import annotations

import importlib
from functools import cache

from celery_poolkit.plugins.base import Plugin

__all__ = ["BUILTIN", "Plugin", "builtin_plugins"]

#: Import strings of the plugins shipped with poolkit; resolved lazily by builtin_plugins().
BUILTIN: tuple[str, ...] = (
    "celery_poolkit.plugins.stdlib",
    "celery_poolkit.plugins.psycopg2",
    "celery_poolkit.plugins.psycopg",
    "celery_poolkit.plugins.grpc",
    "celery_poolkit.plugins.urllib3",
)


@cache
def builtin_plugins() -> tuple[Plugin, ...]:
    """Every shipped plugin, in ``BUILTIN`` order. Imports no third-party library."""
    return tuple(importlib.import_module(path).PLUGIN for path in BUILTIN)
