"""The plugin registry is complete, and every table is well-formed and self-consistent."""

from __future__ import annotations

import builtins
import collections
import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import celery_poolkit.plugins as plugins_pkg
from celery_poolkit.model import Effect, Green
from celery_poolkit.plugins import BUILTIN, Plugin, builtin_plugins

_QUALNAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(\.\*\*?)?")

#: Qualnames that two plugins describe on purpose (none today): name -> plugin names.
INTENTIONAL_DUPLICATES: dict[str, set[str]] = {}


def _plugin_modules() -> set[str]:
    """Every module under celery_poolkit.plugins that defines PLUGIN."""
    found = set()
    for info in pkgutil.walk_packages(plugins_pkg.__path__, prefix="celery_poolkit.plugins."):
        module = importlib.import_module(info.name)
        if isinstance(getattr(module, "PLUGIN", None), Plugin):
            found.add(info.name)
    return found


def test_every_plugin_module_is_registered_and_every_registration_exists() -> None:
    assert _plugin_modules() == set(BUILTIN)
    assert len(BUILTIN) == len(set(BUILTIN)), "a plugin is registered twice"


def test_at_least_forty_libraries_are_known() -> None:
    assert len(builtin_plugins()) >= 40


def test_plugin_names_are_unique() -> None:
    names = collections.Counter(p.name for p in builtin_plugins())
    assert [n for n, count in names.items() if count > 1] == []


def test_every_qualname_is_dotted_and_patterns_only_end_in_dot_star() -> None:
    bad = [
        (p.name, c.qualname)
        for p in builtin_plugins()
        for c in p.calls
        if not _QUALNAME.fullmatch(c.qualname)
        or (c.qualname.endswith(".*") and c.qualname.count(".") < 1)
        or (c.qualname.endswith(".**") and c.qualname.count(".") < 2)
    ]
    assert bad == []
    bad_returns = [
        (p.name, c.returns)
        for p in builtin_plugins()
        for c in p.calls
        if c.returns and not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", c.returns)
    ]
    assert bad_returns == []


def test_a_plugin_describes_each_qualname_once() -> None:
    for plugin in builtin_plugins():
        counts = collections.Counter(c.qualname for c in plugin.calls)
        assert [q for q, n in counts.items() if n > 1] == [], plugin.name


def test_no_qualname_is_described_by_two_plugins_unless_intentional() -> None:
    owners: dict[str, set[str]] = collections.defaultdict(set)
    for plugin in builtin_plugins():
        for call in plugin.calls:
            owners[call.qualname].add(plugin.name)
    shared = {q: names for q, names in owners.items() if len(names) > 1}
    assert shared == INTENTIONAL_DUPLICATES


def test_modules_cover_every_qualname() -> None:
    """The advisor maps an import to a plugin through ``modules`` (top-level names)."""
    dotted = [(p.name, m) for p in builtin_plugins() for m in p.modules if "." in m]
    assert dotted == []
    uncovered = []
    for plugin in builtin_plugins():
        for call in plugin.calls:
            name = call.qualname.removesuffix(".**").removesuffix(".*")
            if "." not in name and hasattr(builtins, name):
                continue  # a builtin such as open()
            if not any(name == m or name.startswith(f"{m}.") for m in plugin.modules):
                uncovered.append((plugin.name, call.qualname))
    assert uncovered == []


def test_every_returned_class_has_knowledge_so_method_calls_resolve() -> None:
    qualnames = {c.qualname for p in builtin_plugins() for c in p.calls}
    dangling = sorted(
        (p.name, c.qualname, c.returns)
        for p in builtin_plugins()
        for c in p.calls
        if c.returns and not any(q.startswith(f"{c.returns}.") for q in qualnames)
    )
    assert dangling == []


def test_computation_is_never_marked_as_waiting_on_io() -> None:
    """Per the model, pure computation is judged by its effect, so its green is SAFE."""
    compute = {Effect.CPU, Effect.CPU_RELEASES_GIL, Effect.GPU}
    wrong = [
        (p.name, c.qualname, c.green)
        for p in builtin_plugins()
        for c in p.calls
        if c.effect in compute and c.green is not Green.SAFE
    ]
    assert wrong == []


def test_every_plugin_has_a_summary_and_distribution() -> None:
    missing = [p.name for p in builtin_plugins() if not p.summary or not p.modules]
    assert missing == []
    third_party = [
        p for p in builtin_plugins() if p.name not in {"stdlib", "stdlib_extra", "programs"}
    ]
    assert [p.name for p in third_party if not p.distributions] == []


_IMPORT_PROBE = r"""
import json, sys
blocked = json.loads(sys.argv[1])
for name in blocked:
    sys.modules[name] = None  # any import of the library now raises ImportError
before = set(sys.modules)
import celery_poolkit.plugins as registry
for path in registry.BUILTIN:
    __import__(path)
registry.builtin_plugins()
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_importing_every_plugin_imports_no_third_party_library(tmp_path: Path) -> None:
    """The advisor runs where the libraries are absent: tables must import without them.

    The probe runs from an empty directory so it imports the installed package, not the
    source tree (where plugins/ is not yet mapped into celery_poolkit).
    """
    libraries = {
        module
        for plugin in builtin_plugins()
        for module in plugin.modules
        if module.split(".")[0] not in sys.stdlib_module_names
    }
    libraries |= {m.split(".")[0] for m in libraries}
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, json.dumps(sorted(libraries))],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    foreign = [
        m
        for m in loaded
        if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "celery_poolkit"
    ]
    assert foreign == []
    assert "celery_poolkit.plugins.mysqlclient" in loaded  # the probe really imported them


def test_file_io_is_never_claimed_to_be_free_under_gevent() -> None:
    """gevent never makes regular file IO cooperative; rows follow stdlib's ``open``."""
    wrong = [
        (p.name, c.qualname)
        for p in builtin_plugins()
        for c in p.calls
        if c.effect is Effect.FILE_IO and c.green is Green.SAFE
    ]
    assert wrong == []


def test_a_row_that_blocks_the_hub_says_what_it_waits_on() -> None:
    """BLOCKS_HUB without an effect would hide the wait from the advisor's evidence."""
    silent = [
        (p.name, c.qualname)
        for p in builtin_plugins()
        for c in p.calls
        if c.green is Green.BLOCKS_HUB and c.effect is None
    ]
    assert silent == []


def test_importing_the_registry_loads_no_table(tmp_path: Path) -> None:
    """Tables load on demand (builtin_plugins()), so ``celery poolkit`` stays cheap."""
    code = (
        "import json, sys; import celery_poolkit.plugins; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('celery_poolkit.'))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path,
    )  # fmt: skip
    loaded = set(json.loads(proc.stdout))
    assert loaded & set(BUILTIN) == set()


def test_runtime_lists_exactly_the_plugins_that_have_a_runtime_hook() -> None:
    """Patching, doctor and the guard read only RUNTIME; a plugin with a hook left out of
    it would never run, and one listed without a hook would be imported for nothing."""
    from celery_poolkit.plugins import RUNTIME, runtime_plugins

    having = sorted(p.name for p in builtin_plugins() if p.has_runtime_hooks)
    assert sorted(p.name for p in runtime_plugins()[: len(RUNTIME)]) == having
    for plugin in runtime_plugins():
        for name in ("adapter", "hazards", "driver_state"):
            if getattr(plugin, name):
                assert callable(plugin.hook(name)), (plugin.name, name)
