"""The bootstrap is import-light, and its pieces are where gevent and tox expect them."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from importlib.metadata import entry_points

import celery_poolkit
from celery_poolkit.bootstrap.adapters import resolve
from celery_poolkit.plugins import BUILTIN, builtin_plugins

_HEAVY = {"celery", "kombu", "ssl", "socket", "threading", "gevent", "eventlet", "click",
          "psycopg2", "psycopg", "urllib3", "grpc", "django"}  # fmt: skip


def _loaded_by(statement: str) -> set[str]:
    code = (
        f"import sys; before = set(sys.modules); {statement}; "
        "print(sorted(set(sys.modules) - before))"
    )
    # Run outside the source tree: `python -c` puts the working directory first on
    # sys.path, and the tree's celery_poolkit has no `plugins` subpackage (tox installs it).
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True, cwd=tempfile.gettempdir())  # fmt: skip
    return set(eval(proc.stdout))


def test_patch_is_reachable_lazily_from_the_package() -> None:
    loaded = _loaded_by("import celery_poolkit; celery_poolkit.__dict__.get('patch')")
    assert "celery_poolkit.bootstrap" not in loaded
    assert celery_poolkit.patch.__module__ == "celery_poolkit.bootstrap"


def test_importing_the_bootstrap_and_autopatch_loads_nothing_patching_must_precede() -> None:
    loaded = _loaded_by("import celery_poolkit.bootstrap, celery_poolkit.bootstrap.argv")
    assert not {m for m in loaded if m.split(".")[0] in _HEAVY}, sorted(loaded)
    # with no green pool named, autopatch imports no concurrency library either
    loaded = _loaded_by("import celery_poolkit.autopatch")
    assert not {m for m in loaded if m.split(".")[0] in _HEAVY}, sorted(loaded)


def test_plugin_modules_import_without_their_libraries() -> None:
    loaded = _loaded_by("from celery_poolkit.plugins import builtin_plugins; builtin_plugins()")
    assert not {m for m in loaded if m.split(".")[0] in _HEAVY}, sorted(loaded)


def test_every_adapter_resolves_and_every_runtime_plugin_is_builtin() -> None:
    for name in ("psycopg2", "psycopg", "grpc", "urllib3", "cassandra"):
        assert f"celery_poolkit.plugins.{name}" in BUILTIN
    adapters = {p.name: p.adapter for p in builtin_plugins() if p.adapter}
    assert set(adapters) == {"psycopg2", "psycopg", "grpc", "urllib3", "cassandra", "django"}
    for adapter in adapters.values():
        assert callable(resolve(adapter))
    for plugin in builtin_plugins():
        if plugin.adapter:
            assert plugin.calls, plugin.name  # knowledge and adapter travel together
            assert plugin.distributions, plugin.name


def test_gevent_entry_points_are_installed() -> None:
    groups = {
        "gevent.plugins.monkey.will_patch_all": "celery_poolkit.bootstrap.events:will_patch_all",
        "gevent.plugins.monkey.did_patch_builtins":
            "celery_poolkit.bootstrap.events:did_patch_builtins",
    }  # fmt: skip
    for group, value in groups.items():
        assert value in {ep.value for ep in entry_points(group=group)}, group


def test_the_launcher_loads_nothing_patching_must_precede_before_it_patches() -> None:
    """`poolkit worker` imports the CLI package before patching: click (which imports
    threading, which gevent repairs) and nothing else that patching must precede."""
    loaded = _loaded_by("import celery_poolkit.cli")
    allowed = {"click", "threading"}
    assert not {m for m in loaded if m.split(".")[0] in _HEAVY - allowed}, sorted(loaded)
