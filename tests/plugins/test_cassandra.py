"""The cassandra plugin's adapter: a late ``import cassandra.cluster`` gets the gevent
reactor. cassandra-driver is not a test dependency, so its two modules are stand-ins."""

from __future__ import annotations

import importlib.machinery
import sys
import types

import pytest

from celery_poolkit.errors import DidNotEnable
from celery_poolkit.model import AdapterStatus, Pool
from celery_poolkit.plugins.cassandra import PLUGIN, use_gevent_reactor


class LibevConnection:  # what cassandra.cluster picks when imported before patching
    pass


class GeventConnection:
    pass


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """``cassandra`` installed, ``cassandra.cluster`` imported before patching."""
    package = types.ModuleType("cassandra")
    package.__spec__ = importlib.machinery.ModuleSpec("cassandra", None)
    cluster = types.ModuleType("cassandra.cluster")
    cluster.Cluster = type("Cluster", (), {"connection_class": LibevConnection})
    reactor = types.ModuleType("cassandra.io.geventreactor")
    reactor.GeventConnection = GeventConnection
    for name, module in (("cassandra", package), ("cassandra.cluster", cluster),
                         ("cassandra.io", types.ModuleType("cassandra.io")),
                         ("cassandra.io.geventreactor", reactor)):  # fmt: skip
        monkeypatch.setitem(sys.modules, name, module)
    return cluster


def test_a_late_import_gets_the_gevent_reactor(driver: types.ModuleType) -> None:
    outcome = use_gevent_reactor(Pool.GEVENT)
    assert outcome.status is AdapterStatus.APPLIED
    assert "LibevConnection" in outcome.detail
    assert driver.Cluster.connection_class is GeventConnection
    again = use_gevent_reactor(Pool.GEVENT)  # idempotent
    assert again.status is AdapterStatus.NOTHING_TO_DO


def test_nothing_to_do_when_imported_after_patching(
    driver: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "cassandra.cluster")
    assert use_gevent_reactor(Pool.GEVENT).status is AdapterStatus.NOTHING_TO_DO


def test_off_without_the_driver_or_under_eventlet(
    driver: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DidNotEnable, match="eventlet"):
        use_gevent_reactor(Pool.EVENTLET)
    for name in ("cassandra", "cassandra.cluster"):
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DidNotEnable, match="not installed"):
        use_gevent_reactor(Pool.GEVENT)


def test_the_adapter_is_registered_as_a_runtime_hook() -> None:
    from celery_poolkit.plugins import runtime_plugins

    assert PLUGIN in runtime_plugins()
    assert PLUGIN.hook("adapter") is use_gevent_reactor
