"""``poolkit profile report``'s page without a browser: verdicts, wrong-pool flags, escaping,
no script or external asset, and the command's errors."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from celery_poolkit.advisor.profile_page import render, rows_by_queue
from celery_poolkit.worker.profile import ClusterProfile, TaskProfile, WorkerProfile
from harness.workers import script

SAMPLE = Path(__file__).resolve().parents[1] / "cli" / "data" / "profile-bsapp.json"


def _task(name: str, count: int, cpu_share: float, blocks: int = 0) -> TaskProfile:
    wall = 0.1 * count
    return TaskProfile(name=name, count=count, failures=0, wall_total=wall, wall_p50=0.1,
                       wall_p95=0.2, cpu_total=wall * cpu_share, blocks=blocks,
                       block_seconds=0.3 * blocks)  # fmt: skip


def _worker(host: str, pool: str, queues: tuple[str, ...], *tasks: TaskProfile) -> WorkerProfile:
    return WorkerProfile(hostname=host, pool=pool, concurrency=10, queues=queues,
                         cpu_clock="greenlet", since=0.0, tasks=tasks)  # fmt: skip


def _profile(*workers: WorkerProfile) -> ClusterProfile:
    return ClusterProfile(app="proj", collected_at=0.0, workers=workers)


def test_verdicts_per_queue_and_cpu_bound_tasks_on_one_process_pools() -> None:
    profile = _profile(
        _worker("green@h", "gevent", ("http",), _task("resize", 10, 0.9, blocks=4),
                _task("fetch", 50, 0.05), _task("rare", 2, 0.9)),
        _worker("cpu@h", "prefork", ("cpu",), _task("crunch", 8, 0.95), _task("mid", 9, 0.4)),
    )  # fmt: skip
    rows = rows_by_queue(profile)
    assert list(rows) == ["cpu", "http"]
    http = {r.task.name: r for r in rows["http"]}
    assert (http["resize"].verdict, http["resize"].wrong_pool) == ("cpu", True)
    assert (http["fetch"].verdict, http["fetch"].wrong_pool) == ("io", False)
    assert http["rare"].verdict == "few"
    cpu = {r.task.name: r for r in rows["cpu"]}
    assert (cpu["crunch"].verdict, cpu["crunch"].wrong_pool) == ("cpu", False)
    assert cpu["mid"].verdict == "mixed"
    page = render(profile)
    assert "wrong pool, prefork would run it in parallel (gevent is one process)" in page
    assert "4 (1.20 s)" in page  # resize's hub blocks


def test_names_from_the_file_are_escaped_and_the_page_is_self_contained() -> None:
    evil = '<script>alert("x")</script>'
    page = render(_profile(_worker(evil, "gevent", (evil,), _task(evil, 6, 0.5))))
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page
    assert "url(" not in page


def test_the_command_writes_the_page_and_rejects_what_is_not_a_profile(tmp_path: Path) -> None:
    out = tmp_path / "p.html"
    done = subprocess.run([script("poolkit"), "profile", "report", str(SAMPLE), "-o", str(out)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert "queue celery" in html
    assert "bs.crunch" in html
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "something else"}))
    failed = subprocess.run([script("poolkit"), "profile", "report", str(bad)], capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert failed.returncode == 2
    assert "not a file written by `poolkit profile collect`" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not (tmp_path / "bad.html").exists()
