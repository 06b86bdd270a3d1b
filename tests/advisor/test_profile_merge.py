"""``poolkit advise --profile``: measured evidence overrides the static guess (PK701),
measured hub blocks are reported (PK702), and bad profile files are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from advisor_helpers import advise, task_module
from click.testing import CliRunner

from celery_poolkit.advisor import profile
from celery_poolkit.cli import poolkit
from celery_poolkit.errors import ConfigError
from celery_poolkit.model import Pool
from celery_poolkit.worker.profile import ClusterProfile, TaskProfile, WorkerProfile

BODY = """
import time

@app.task(name="spin")
def spin(seconds):
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass

@app.task(name="fetch")
def fetch():
    time.sleep(1)

@app.task(name="crunch", queue="cpu")
def crunch(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
"""


def _cluster(*tasks: TaskProfile, blocks: int = 0) -> ClusterProfile:
    worker = WorkerProfile(hostname="w1@h", pool="gevent", concurrency=10, queues=("celery",),
                           cpu_clock="greenlet", since=0.0, tasks=tasks, blocks=blocks)  # fmt: skip
    return ClusterProfile(app="proj", collected_at=0.0, workers=(worker,))


def _task(name: str, count: int, wall: float, cpu: float, blocks: int = 0) -> TaskProfile:
    return TaskProfile(name, count, 0, wall, wall / count, wall / count, cpu, blocks, 0.5 * blocks)


def test_measured_cpu_changes_the_decision_and_says_why_PK701(tmp_path: Path) -> None:
    advice = advise(task_module(tmp_path, BODY))
    queue = {q.name: q for q in advice.queues}
    assert queue["celery"].pool is Pool.GEVENT  # static: spin is unknown, fetch sleeps
    merged = profile.merge(advice, _cluster(_task("spin", 20, 2.0, 1.9)), cores=2)
    queue = {q.name: q for q in merged.queues}
    assert queue["celery"].pool is Pool.PREFORK
    assert any("measured" in r for r in queue["celery"].reasons)
    (finding,) = [f for f in merged.findings if f.rule == "PK701"]
    assert finding.task == "spin"
    assert "95%" in finding.message


def test_measured_waiting_overrides_a_static_cpu_guess(tmp_path: Path) -> None:
    advice = advise(task_module(tmp_path, BODY))
    assert {q.name: q for q in advice.queues}["cpu"].pool is Pool.PREFORK
    merged = profile.merge(advice, _cluster(_task("crunch", 10, 5.0, 0.2)), cores=2)
    assert {q.name: q for q in merged.queues}["cpu"].pool is not Pool.PREFORK
    assert [f.task for f in merged.findings if f.rule == "PK701"] == ["crunch"]


def test_agreement_or_too_few_runs_change_nothing(tmp_path: Path) -> None:
    advice = advise(task_module(tmp_path, BODY))
    agree = profile.merge(advice, _cluster(_task("fetch", 50, 50.0, 0.5)), cores=2)
    few = profile.merge(advice, _cluster(_task("spin", profile.MIN_RUNS - 1, 1.0, 1.0)), cores=2)
    for merged in (agree, few):
        assert merged.queues == advice.queues
        assert not [f for f in merged.findings if f.rule.startswith("PK7")]


def test_measured_hub_blocks_are_findings_PK702(tmp_path: Path) -> None:
    advice = advise(task_module(tmp_path, BODY))
    merged = profile.merge(advice, _cluster(_task("fetch", 50, 50.0, 0.5, blocks=2)), cores=2)
    (finding,) = [f for f in merged.findings if f.rule == "PK702"]
    assert finding.task == "fetch"
    assert "2 time(s)" in finding.message


def test_profile_files_round_trip_and_bad_ones_are_config_errors(tmp_path: Path) -> None:
    good = tmp_path / "p.json"
    cluster = _cluster(_task("spin", 20, 2.0, 1.9))
    good.write_text(json.dumps(cluster.as_dict()))
    assert profile.load(good) == cluster
    newer = '{"kind": "poolkit-cluster-profile", "schema": 99}'
    for text, words in [("{", "not JSON"), ("[]", "poolkit profile collect"), (newer, "schema")]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=words):
            profile.load(bad)


def test_advise_cli_with_a_bad_profile_exits_2_without_traceback(tmp_path: Path) -> None:
    root = task_module(tmp_path, BODY)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = CliRunner().invoke(poolkit, ["advise", "--no-cache", "--profile", str(bad),
                                          str(root)])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "poolkit profile collect" in result.output
    assert "Traceback" not in result.output
