"""The runtime plugin protocol at patch time: typed adapter results, recorded once, and
third-party plugins that run or are reported (never ignored)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from celery_poolkit import plugins
from celery_poolkit.bootstrap import _state, adapter_results, adapters, hazards
from celery_poolkit.bootstrap.diagnosis import adapter_findings, hazard_findings
from celery_poolkit.errors import DidNotEnable
from celery_poolkit.model import Adapted, AdapterStatus, PatchHazard, Pool, Severity
from celery_poolkit.plugins.base import Plugin

MODULE = "poolkit_test_fake_plugin"


@pytest.fixture
def fake_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    module = types.ModuleType(MODULE)
    monkeypatch.setitem(sys.modules, MODULE, module)
    monkeypatch.setattr(_state, "adapters", {})
    return module


def _plugin(name: str, **hooks: str) -> Plugin:
    return Plugin(name=name, modules=(name,), **hooks)


def test_an_adapter_returns_a_typed_result_recorded_once(fake_module: types.ModuleType) -> None:
    calls: list[Pool] = []

    def adapt(pool: Pool) -> Adapted:
        calls.append(pool)
        return Adapted.applied("did it")

    fake_module.adapt = adapt
    plugin = _plugin("fake", adapter=f"{MODULE}:adapt")
    first = adapters.run_adapter(plugin, Pool.GEVENT)
    again = adapters.run_adapter(plugin, Pool.GEVENT)
    assert (first.status, first.detail) == (AdapterStatus.APPLIED, "did it")
    assert again is first
    assert calls == [Pool.GEVENT]
    assert adapter_results() == (first,)


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (lambda pool: Adapted.nothing_to_do("green already"), AdapterStatus.NOTHING_TO_DO,
         "green already"),
        (lambda pool: (_ for _ in ()).throw(DidNotEnable("not installed")),
         AdapterStatus.SKIPPED, "not installed"),
        (lambda pool: (_ for _ in ()).throw(RuntimeError("boom")), AdapterStatus.FAILED,
         "RuntimeError: boom"),
        # the old protocol's string, "nothing to do: ...", is no longer parsed: a failure
        (lambda pool: "nothing to do: x", AdapterStatus.FAILED, "not an Adapted result"),
    ],
)  # fmt: skip
def test_adapter_outcomes(
    fake_module: types.ModuleType, body: object, status: AdapterStatus, detail: str
) -> None:
    fake_module.adapt = body
    result = adapters.run_adapter(_plugin("fake", adapter=f"{MODULE}:adapt"), Pool.GEVENT)
    assert result.status is status
    assert detail in result.detail


def test_adapted_refuses_the_statuses_an_adapter_must_raise_for() -> None:
    with pytest.raises(ValueError, match="raises otherwise"):
        Adapted(AdapterStatus.FAILED, "no")


def test_a_failed_adapter_is_a_pk805_error(fake_module: types.ModuleType) -> None:
    fake_module.adapt = lambda pool: 1 / 0
    adapters.run_adapter(_plugin("fake", adapter=f"{MODULE}:adapt"), Pool.GEVENT)
    (finding,) = adapter_findings(adapter_results())
    assert (finding.rule, finding.severity, finding.subject) == ("PK805", Severity.ERROR, "fake")
    assert "ZeroDivisionError" in finding.message


def test_third_party_plugins_run_their_adapters_or_are_reported(
    fake_module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_module.adapt = lambda pool: Adapted.applied("third-party adapter ran")
    fake_module.PLUGIN = _plugin("thirdparty", adapter=f"{MODULE}:adapt")
    good = types.SimpleNamespace(name="thirdparty", value=MODULE)
    broken = types.SimpleNamespace(name="broken", value="poolkit_no_such_module_at_all")
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [good, broken])
    monkeypatch.setattr(plugins, "RUNTIME", ())  # never run the real adapters in here
    plugins.entry_point_plugins.cache_clear()
    plugins.runtime_plugins.cache_clear()
    try:
        results = {r.plugin: r for r in adapters.run_adapters(Pool.GEVENT)}
    finally:
        plugins.entry_point_plugins.cache_clear()
        plugins.runtime_plugins.cache_clear()
    assert results["thirdparty"].status is AdapterStatus.APPLIED
    assert results["entry-point:broken"].status is AdapterStatus.FAILED
    assert "ModuleNotFoundError" in results["entry-point:broken"].detail
    assert set(results) == {"thirdparty", "entry-point:broken"}
    assert [f.subject for f in adapter_findings(results.values())] == ["entry-point:broken"]


def test_the_hazard_scan_reads_the_plugins_hooks(
    fake_module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def found(pool: Pool) -> Iterator[PatchHazard]:
        yield PatchHazard("fake-early", MODULE, "imported too early.", "import it later")

    fake_module.hazards = found
    plugin = _plugin("fake", hazards=f"{MODULE}:hazards")
    monkeypatch.setattr(plugins, "runtime_plugins", lambda: (plugin,))
    scanned = hazards.scan(Pool.GEVENT)
    assert "fake-early" in [h.kind for h in scanned]
    (finding,) = [f for f in hazard_findings(scanned) if f.subject == "fake-early"]
    assert (finding.rule, finding.severity) == ("PK803", Severity.WARNING)
    assert finding.fix == "import it later"


def test_every_builtin_hook_resolves() -> None:
    for plugin in plugins.runtime_plugins():
        for hook in ("adapter", "hazards", "driver_state"):
            if getattr(plugin, hook):
                assert callable(plugin.hook(hook)), (plugin.name, hook)
