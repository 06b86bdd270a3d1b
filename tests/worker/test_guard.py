"""The guard reads what the bootstrap recorded (hazards, adapter results) through its
public functions and reports it with the shared Finding type and rule IDs."""

from __future__ import annotations

import logging
import types
from typing import Any

import pytest

from celery_poolkit import bootstrap
from celery_poolkit.bootstrap import _state
from celery_poolkit.model import AdapterResult, AdapterStatus, PatchHazard, Pool, Severity
from celery_poolkit.worker import guard
from celery_poolkit.worker.step import StepOptions


def _worker(pool: str) -> Any:
    from celery import Celery
    from celery.concurrency import get_implementation

    app = Celery("t", broker="memory://")
    return types.SimpleNamespace(pool_cls=get_implementation(pool), app=app)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, AdapterResult]:
    """What gevent's plugin events record under a plain ``celery -P gevent``."""
    results: dict[str, AdapterResult] = {}
    monkeypatch.setattr(_state, "adapters", results)
    monkeypatch.setattr(_state, "last_result", [])
    monkeypatch.setattr(_state, "early_hazards", None)
    return results


def test_an_adapter_that_failed_at_patch_time_is_an_error_at_start_up(
    recorded: dict[str, AdapterResult], caplog: pytest.LogCaptureFixture
) -> None:
    recorded["psycopg"] = AdapterResult(
        "psycopg", AdapterStatus.FAILED, "PoolkitError: psycopg was imported before patching"
    )
    recorded["grpc"] = AdapterResult("grpc", AdapterStatus.SKIPPED, "grpcio is not installed")
    worker = _worker("threads")  # no patch-state finding: only the adapter speaks
    found = guard.run(worker, StepOptions(advise=False))
    assert [(f.rule, f.subject, f.severity) for f in found] == [
        ("PK805", "psycopg", Severity.ERROR)
    ]
    assert "poolkit guard PK805 [psycopg]: the psycopg adapter failed" in caplog.text
    with pytest.raises(SystemExit):  # an error the strict worker refuses
        guard.run(worker, StepOptions(strict=True, advise=False))


def test_hazards_recorded_by_geventss_event_are_reported(
    recorded: dict[str, AdapterResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    hazard = PatchHazard("late-ssl", "requests", "kept SSLContext.", "patch first")
    monkeypatch.setattr(_state, "early_hazards", (hazard,))
    (finding,) = guard.hazards(guard.facts_of(_worker("threads")))
    assert (finding.rule, finding.subject, finding.fix) == ("PK803", "late-ssl", "patch first")


def test_a_patched_process_on_a_pool_that_is_not_green_is_pk802(
    recorded: dict[str, AdapterResult], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setattr(bootstrap, "current_pool", lambda: Pool.GEVENT)
    caplog.set_level(logging.WARNING, "celery_poolkit")
    (finding,) = guard.patch_state(guard.facts_of(_worker("threads")))
    assert (finding.rule, finding.severity) == ("PK802", Severity.WARNING)
    assert "use -P gevent" in finding.fix
