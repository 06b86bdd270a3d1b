"""The advisor check on fixed ``poolkit advise --format json`` outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from poolbench.advisor_check import (
    AdvisorUnavailable,
    Measured,
    Recommendation,
    check,
    parse_advice,
)
from poolbench.spec import POOLS, PoolConfig
from poolbench.stats import Repeats

GRID = {p.name: p for p in POOLS}
PROSE = (
    "poolkit advise will read the Celery project under benchapp/db_io without importing\n"
    "The static advisor is not in this release yet; nothing was analysed.\n"
)


def advice_json(pool: str, concurrency: int, command: str = "", queue: str = "db_io") -> str:
    command = command or f"celery -A benchapp worker -Q {queue} -P {pool} -c {concurrency}"
    return json.dumps({
        "schema": 1,
        "queues": [{"name": queue, "pool": pool, "concurrency": concurrency,
                    "tasks": [f"benchapp.{queue}.tasks.x"], "command": command}],
        "tasks": [], "findings": [], "skipped": [],
    })  # fmt: skip


def measured(**rates: Any) -> list[Measured]:
    """``threads=(600, 650)`` -> a measured grid row; ``gevent_poolkit="why"`` -> unavailable."""
    out = []
    for key, value in rates.items():
        config = GRID[key.replace("_", "+")]
        if isinstance(value, str):
            out.append(Measured(config, None, value))
        else:
            out.append(Measured(config, Repeats(tuple(value))))
    return out


DB_IO = measured(
    prefork=(38.0, 39.0, 39.5),
    threads=(600.0, 640.0, 650.0),
    gevent=(19.0, 19.1, 19.2),
    gevent_poolkit=(560.0, 590.0, 598.0),
    eventlet=(700.0, 720.0, 730.0),
    solo=(19.0, 19.1, 19.3),
)


def run(stdout: str, returncode: int = 0, data: list[Measured] = DB_IO) -> Any:
    return check("db_io", parse_advice(stdout, returncode, "db_io"), data)


def test_pass_when_the_recommendation_is_the_fastest_non_deprecated_pool() -> None:
    result = run(advice_json("threads", 50))
    assert result.passed, result
    assert result.best == "threads"  # eventlet is faster but deprecated
    assert result.ratio == pytest.approx(1.0)


def test_pass_at_or_above_095_of_the_best() -> None:
    data = measured(threads=(630.0, 640.0, 650.0), gevent_poolkit=(612.0, 615.0, 618.0))
    result = run(advice_json("gevent", 50, "poolkit worker -A benchapp -P gevent -c 50"), data=data)
    assert result.recommended == "gevent+poolkit"
    assert not result.within_noise
    assert result.ratio == pytest.approx(615 / 640)
    assert result.passed


def test_fail_below_095_and_outside_the_noise() -> None:
    advice = parse_advice(advice_json("gevent", 50), 0, "db_io")
    assert isinstance(advice, Recommendation)
    # Plain `celery … -P gevent` is run as advised, poolkit left on: not the control row.
    wanted = advice.config([m.config for m in DB_IO])
    assert wanted.name == "gevent -c 50 (advised)"
    assert not wanted.poolkit_disabled
    slow = Measured(wanted, Repeats((19.0, 19.2, 19.4)))  # psycopg2 blocks the hub
    result = check("db_io", advice, [*DB_IO, slow])
    assert not result.passed
    assert result.recommended == "gevent -c 50 (advised)"
    assert result.ratio == pytest.approx(19.2 / 640)
    assert "outside the measured noise" in result.reason


def test_plain_gevent_advice_is_never_judged_by_the_poolkit_disabled_control() -> None:
    control = GRID["gevent"]
    assert control.poolkit_disabled
    assert control.env == {"POOLKIT_DISABLE": "1"}
    result = run(advice_json("gevent", 50))
    assert not result.passed
    assert "gevent -c 50 (advised): not measured" in result.reason


def test_within_noise_counts_as_best_even_below_095() -> None:
    data = measured(threads=(560.0, 640.0, 700.0), gevent_poolkit=(580.0, 590.0, 600.0))
    result = run(advice_json("gevent", 50, "poolkit worker -A benchapp -P gevent"), data=data)
    assert result.ratio == pytest.approx(590 / 640)
    assert result.ratio < 0.95
    assert result.within_noise
    assert result.passed


@pytest.mark.parametrize(
    ("stdout", "returncode"),
    [
        (PROSE, 0),  # today's placeholder
        ("", 2),  # usage error, nothing on stdout
        ("{not json", 1),
    ],
)
def test_advisor_missing_is_a_failed_check(stdout: str, returncode: int) -> None:
    stderr = "Usage: poolkit advise [OPTIONS]\nError: No such option: --format\n"
    advice = parse_advice(stdout, returncode, "db_io", stderr=stderr)
    assert isinstance(advice, AdvisorUnavailable)
    result = check("db_io", advice, DB_IO)
    assert not result.passed
    assert result.reason.startswith("advisor unavailable: output is not JSON")
    if not stdout:
        assert result.reason.endswith("Error: No such option: --format")


@pytest.mark.parametrize(
    "doc",
    [
        [1, 2],
        {"queues": []},  # no schema
        {"schema": 2, "queues": []},
        {"schema": 1, "queues": "threads"},
    ],
)
def test_json_outside_the_contract_is_unavailable(doc: Any) -> None:
    advice = parse_advice(json.dumps(doc), 0, "db_io")
    assert isinstance(advice, AdvisorUnavailable)
    assert "advisor unavailable" in advice.reason


def test_bad_pool_or_concurrency_is_reported() -> None:
    assert "unknown pool" in parse_advice(advice_json("asyncio", 5), 0, "db_io").reason  # type: ignore[union-attr]
    zero = parse_advice(advice_json("threads", 0), 0, "db_io")
    assert isinstance(zero, AdvisorUnavailable)
    assert "positive integer" in zero.reason


def test_queue_is_found_by_name_among_several() -> None:
    doc = json.loads(advice_json("threads", 20))
    doc["queues"].insert(0, {"name": "other", "pool": "solo", "concurrency": 1})
    advice = parse_advice(json.dumps(doc), 0, "db_io")
    assert isinstance(advice, Recommendation)
    assert (advice.pool, advice.concurrency, advice.launcher) == ("threads", 20, "celery")
    missing = parse_advice(json.dumps(doc), 0, "sleep")
    assert isinstance(missing, AdvisorUnavailable)
    assert "'other', 'db_io'" in missing.reason


def test_a_single_queue_with_another_name_is_used() -> None:
    advice = parse_advice(advice_json("prefork", 2, queue="celery"), 0, "cpu_py")
    assert isinstance(advice, Recommendation)
    assert advice.pool == "prefork"


def test_deprecated_recommendation_fails_even_when_fast() -> None:
    result = run(advice_json("eventlet", 50))
    assert not result.passed
    assert "deprecated" in result.reason


def test_recommendation_off_the_grid_needs_its_own_measurement() -> None:
    advice = parse_advice(advice_json("threads", 20), 0, "db_io")
    assert isinstance(advice, Recommendation)
    wanted = advice.config(list(GRID.values()))
    assert (wanted.name, wanted.advised) == ("threads -c 20 (advised)", True)
    not_measured = check("db_io", advice, DB_IO)
    assert not not_measured.passed
    assert "threads -c 20 (advised): not measured" in not_measured.reason
    extra = Measured(wanted, Repeats((300.0, 310.0, 320.0)))
    result = check("db_io", advice, [*DB_IO, extra])
    assert result.recommended_tps == 310.0
    assert not result.passed


def test_unavailable_recommended_configuration_fails_with_its_reason() -> None:
    data = measured(threads=(600.0, 640.0), gevent_poolkit="unavailable: no poolkit worker")
    result = run(advice_json("gevent", 50, "poolkit worker -A benchapp -P gevent -c 50"), data=data)
    assert not result.passed
    assert "no poolkit worker" in result.reason


def test_launcher_is_read_from_the_command() -> None:
    def launcher(command: str) -> str:
        advice = parse_advice(advice_json("gevent", 50, command), 0, "db_io")
        assert isinstance(advice, Recommendation)
        return advice.launcher

    assert launcher("poolkit worker -A app -P gevent -c 50") == "poolkit"
    assert launcher("/venv/bin/poolkit worker -A app -P gevent") == "poolkit"
    assert launcher("celery -A app worker -P gevent -c 50") == "celery"
    assert launcher("celery poolkit advise 'unbalanced") == "celery"
    assert PoolConfig("x", "gevent", 50, launcher="poolkit").argv("a", "q", "n@h")[:2] == [
        "poolkit", "worker",
    ]  # fmt: skip
