"""``poolkit advise --profile``: measured evidence overrides the static guess (PK701),
measured hub blocks are reported (PK702), and bad profile files are clear errors."""

from __future__ import annotations

import json
import time
import types
from pathlib import Path
from typing import Any

import pytest
from advisor_helpers import advise, task_module
from click.testing import CliRunner

from celery_poolkit.advisor import profile
from celery_poolkit.cli import poolkit
from celery_poolkit.errors import ConfigError
from celery_poolkit.model import Advice, Pool
from celery_poolkit.worker import profile as profile_model
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


def _merge(root: Path, cluster: ClusterProfile) -> Advice:
    """The advice on ``root`` with ``cluster``'s measurements, as ``advise --profile``."""
    return advise(root, measured=profile.measured(cluster))


def test_measured_cpu_changes_the_decision_and_says_why_PK701(tmp_path: Path) -> None:
    root = task_module(tmp_path, BODY)
    queue = {q.name: q for q in advise(root).queues}
    assert queue["celery"].pool is Pool.GEVENT  # static: spin is unknown, fetch sleeps
    merged = _merge(root, _cluster(_task("spin", 20, 2.0, 1.9)))
    queue = {q.name: q for q in merged.queues}
    assert queue["celery"].pool is Pool.PREFORK
    assert any("measured" in r for r in queue["celery"].reasons)
    (finding,) = [f for f in merged.findings if f.rule == "PK701"]
    assert finding.task == "spin"
    assert "95%" in finding.message


def test_measured_waiting_overrides_a_static_cpu_guess(tmp_path: Path) -> None:
    root = task_module(tmp_path, BODY)
    assert {q.name: q for q in advise(root).queues}["cpu"].pool is Pool.PREFORK
    merged = _merge(root, _cluster(_task("crunch", 10, 5.0, 0.2)))
    assert {q.name: q for q in merged.queues}["cpu"].pool is not Pool.PREFORK
    assert [f.task for f in merged.findings if f.rule == "PK701"] == ["crunch"]


def test_agreement_or_too_few_runs_change_nothing(tmp_path: Path) -> None:
    root = task_module(tmp_path, BODY)
    advice = advise(root)
    agree = _merge(root, _cluster(_task("fetch", 50, 50.0, 0.5)))
    few = _merge(root, _cluster(_task("spin", profile.MIN_RUNS - 1, 1.0, 1.0)))
    for merged in (agree, few):
        assert merged.queues == advice.queues
        assert not [f for f in merged.findings if f.rule.startswith("PK7")]


def test_measured_hub_blocks_are_findings_PK702(tmp_path: Path) -> None:
    merged = _merge(task_module(tmp_path, BODY), _cluster(_task("fetch", 50, 50.0, 0.5, blocks=2)))
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


# --- Profiles are untrusted: replies cross the broker, files are handed around ------------
def _good_worker(hostname: str = "w1@h") -> dict[str, Any]:
    cluster = _cluster(_task("spin", 20, 2.0, 1.9), _task("fetch", 10, 1.0, 0.1))
    return {**cluster.workers[0].as_dict(), "hostname": hostname}


def _file(**worker_changes: Any) -> dict[str, Any]:
    return {"schema": 1, "kind": "poolkit-cluster-profile", "app": "proj", "collected_at": 0.0,
            "workers": [{**_good_worker(), **worker_changes}], "errors": {}}  # fmt: skip


def _task_entry(**changes: Any) -> dict[str, Any]:
    return {**_task("spin", 20, 2.0, 1.9).as_dict(), **changes}


NAN, INF = float("nan"), float("inf")
#: Each bad task entry is left out (and reported); the worker's other entry still counts.
BAD_TASKS = [
    _task_entry(count=-1), _task_entry(count=True), _task_entry(count="20"),
    _task_entry(count=2.5), _task_entry(wall_total=NAN), _task_entry(cpu_total=INF),
    _task_entry(cpu_total=-INF), _task_entry(wall_p95=-0.1), _task_entry(failures=21),
    _task_entry(count=10**30), _task_entry(name=5), _task_entry(name=""),
    _task_entry(blocks=-3), _task_entry(block_seconds=NAN), {"name": "spin"}, "spin", None,
]  # fmt: skip
#: Each bad worker is left out (and reported); the file still loads.
BAD_WORKERS = [
    {"hostname": 5}, {"hostname": ""}, {"tasks": "spin"}, {"tasks": {"spin": 1}},
    {"queues": [1]}, {"concurrency": -1}, {"concurrency": NAN}, {"since": INF},
    {"recent_blocks": 3}, {"blocks": "many"}, {"schema": 2}, {"tasks": [{}] * 50_000},
]  # fmt: skip
#: Whole files that are not profiles: a configuration error, exit 2.
BAD_FILES = ["[]", "null", '{"kind": "poolkit-cluster-profile"}', "[" * 100_000, "NaN",
             '{"kind": "poolkit-cluster-profile", "schema": 1, "workers": {}}',
             '{"kind": "poolkit-cluster-profile", "schema": 1, "workers": [], "errors": []}',
             '{"kind": "poolkit-cluster-profile", "schema": 1, "workers": [], "app": []}',
             '{"kind": "poolkit-cluster-profile", "schema": 1, "workers": [],'
             ' "collected_at": -1}']  # fmt: skip


def _advise_with(tmp_path: Path, data: object) -> tuple[int, str]:
    root = task_module(tmp_path, BODY)
    path = tmp_path / "profile.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    result = CliRunner().invoke(poolkit, ["advise", "--no-cache", "--profile", str(path),
                                          str(root), "--fail-on", "never"])  # fmt: skip
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("entry", BAD_TASKS)
def test_a_bad_task_entry_is_left_out_and_reported(tmp_path: Path, entry: object) -> None:
    good = _task_entry(name="fetch", count=10, wall_total=1.0, cpu_total=0.1)
    data = _file(tasks=[entry, good])
    loaded = profile_model.cluster_profile_from_dict(json.loads(json.dumps(data)))
    (worker,) = loaded.workers
    assert [t.name for t in worker.tasks] == ["fetch"]
    ((host, error),) = loaded.errors
    assert (host, error[:31]) == ("w1@h", "1 bad entry left out: task entr")
    code, output = _advise_with(tmp_path, data)
    assert code == 0, output
    assert "poolkit: warning: --profile: w1@h: 1 bad entry left out" in output


@pytest.mark.parametrize("changes", BAD_WORKERS)
def test_a_bad_worker_is_left_out_and_reported(tmp_path: Path, changes: dict[str, Any]) -> None:
    data = _file(**changes)
    data["workers"].append(_good_worker("w2@h"))
    loaded = profile_model.cluster_profile_from_dict(json.loads(json.dumps(data)))
    assert [w.hostname for w in loaded.workers] == ["w2@h"]
    assert len(loaded.errors) == 1
    assert "left out" in loaded.errors[0][1]
    assert _advise_with(tmp_path, data)[0] == 0


@pytest.mark.parametrize("text", BAD_FILES)
def test_a_file_that_is_no_profile_exits_2(tmp_path: Path, text: str) -> None:
    code, output = _advise_with(tmp_path, text)
    assert code == 2, output
    assert "poolkit: error: --profile" in output


def test_escape_sequences_in_a_profile_never_reach_the_terminal(tmp_path: Path) -> None:
    evil = "w1\x1b]0;owned\x07\x1b[2J\u202e@h"
    worker = {**_good_worker(evil), "tasks": [_task_entry(name="fetch", blocks=2,
                                                         block_seconds=1.0)]}  # fmt: skip
    data = {**_file(), "workers": [worker], "errors": {"w9\x1b[31m": "bad\x1b[0m"}}
    code, output = _advise_with(tmp_path, data)
    assert code == 0, output
    assert "PK702" in output
    assert "w1\\x1b]0;owned\\x07\\x1b[2J\\u202e@h" in output  # shown, not interpreted
    assert not any(c in output for c in "\x1b\x07\u202e")


def test_collect_checks_every_reply_and_keeps_the_good_ones() -> None:
    bad_task = {**_good_worker("w3@h"), "tasks": [_task_entry(count=-5), _task_entry()]}
    replies = [
        {"w1@h": _good_worker("w1@h")},
        {"w2@h": {**_good_worker("w2@h"), "tasks": None}},
        "garbage",
        {"w3@h": bad_task},
        {"w4@h": _good_worker("w1@h")},  # speaks for another worker
        {"w5@h": {"error": "No such key: 'poolkit_profile'\x1b[2J"}},
        {"w1@h": _good_worker("w1@h")},  # twice
    ]
    app = types.SimpleNamespace(
        control=types.SimpleNamespace(broadcast=lambda *_a, **_k: json.loads(json.dumps(replies)))
    )
    found = profile_model.collect(app, "proj", timeout=0.1)
    # w1 answered twice: which answer is its own cannot be told, so neither counts.
    assert [w.hostname for w in found.workers] == ["w3@h"]
    assert [t.count for t in found.workers[0].tasks] == [20]
    errors = dict(found.errors)
    assert set(errors) == {"(unknown)", "w1@h", "w2@h", "w3@h", "w4@h", "w5@h"}
    assert "'tasks' must be a list" in errors["w2@h"]
    assert "'count' must be from 0 to 1e15, not -5" in errors["w3@h"]
    assert "answered as 'w1@h'" in errors["w4@h"]
    assert "answered more than once (a forged reply?)" in errors["w1@h"]
    assert "\x1b" not in errors["w5@h"]


def test_sixteen_thousand_workers_merge_in_linear_time(tmp_path: Path) -> None:
    root = task_module(tmp_path, BODY)
    worker = _good_worker()
    data = {**_file(), "workers": [{**worker, "hostname": f"w{i}@h"} for i in range(16_000)]}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data))
    started = time.process_time()  # CPU time: a busy machine cannot stretch it
    merged = _merge(root, profile.load(path))
    took = time.process_time() - started
    (finding,) = [f for f in merged.findings if f.rule == "PK701"]
    assert "on w0@h, w10000@h, w10001@h and 15,997 more" in finding.message
    # Measured: 0.8 s of CPU for load + merge on the 2-core machine at load 3.9; the quadratic
    # merge took 22 s. The bound leaves room for a slower machine, not for a square.
    assert took < 8, took


def test_a_fifo_given_as_profile_is_refused_without_blocking(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = task_module(tmp_path, BODY)
    os.mkfifo(tmp_path / "profile.json")
    proc = subprocess.run(
        [sys.executable, "-m", "celery_poolkit", "advise", str(root), "--no-cache",
         "--profile", str(tmp_path / "profile.json")],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "not a regular file: a FIFO (named pipe)" in proc.stderr


# --- Measurements enter the task summaries before any decision or finding -----------------
def _advise_json(root: Path, cluster: ClusterProfile, *extra: str) -> dict[str, Any]:
    path = root.parent / "measured.json"
    path.write_text(json.dumps(cluster.as_dict()))
    result = CliRunner().invoke(poolkit, ["advise", "--no-cache", "--format", "json",
                                          "--profile", str(path), *extra, str(root)])  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_an_ignored_PK701_is_not_reported(tmp_path: Path) -> None:
    # A task's findings are located at its ``def`` line, where the comment goes.
    body = BODY.replace("def spin(seconds):", "def spin(seconds):  # poolkit: ignore[PK701]")
    root = task_module(tmp_path, body)
    data = _advise_json(root, _cluster(_task("spin", 20, 2.0, 1.9)))
    assert not [f for f in data["findings"] if f["rule"] == "PK701"], data["findings"]
    # Ignoring the finding does not ignore the measurement: the queue is still decided by it.
    assert {q["name"]: q["pool"] for q in data["queues"]}["celery"] == "prefork"


def test_a_pool_flipped_by_measurement_is_checked_against_the_deployment_PK601(
    tmp_path: Path,
) -> None:
    root = task_module(tmp_path, BODY)
    (root / "Procfile").write_text("worker: celery -A proj worker -Q celery -P gevent -c 50\n")
    static = json.loads(CliRunner().invoke(
        poolkit, ["advise", "--no-cache", "--format", "json", str(root)]).stdout)  # fmt: skip
    assert not [f for f in static["findings"] if f["rule"] == "PK601"]  # gevent, as deployed
    data = _advise_json(root, _cluster(_task("spin", 20, 2.0, 1.9)))
    assert {q["name"]: q["pool"] for q in data["queues"]}["celery"] == "prefork"
    (finding,) = [f for f in data["findings"] if f["rule"] == "PK601"]
    assert "runs queue 'celery' on gevent; the advice is prefork" in finding["message"]
