"""Worker command lines in deployment files, as the advisor reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from celery_poolkit.advisor.deploy import find_commands, parse_command
from celery_poolkit.model import Location, Pool

HERE = Location("Procfile", 1)


@pytest.mark.parametrize(
    ("line", "pool", "queues", "app", "concurrency"),
    [
        ("worker: celery -A proj worker -Q a,b -P gevent -c 100", Pool.GEVENT, ("a", "b"),
         "proj", "100"),
        ("command: celery --app=proj.celery:app worker --pool=threads --concurrency=20",
         Pool.THREADS, (), "proj.celery:app", "20"),
        ('exec celery -A proj worker -P"${CELERY_WORKER_POOL:-eventlet}" -Qhttp',
         Pool.EVENTLET, ("http",), "proj", ""),
        ('command: ["celery", "-A", "proj", "worker", "-P", "solo"]', Pool.SOLO, (), "proj", ""),
        ("celery multi start 4 -A proj -Q db -P prefork -c 8", Pool.PREFORK, ("db",), "proj",
         "8"),
        ("celery -A proj worker", None, (), "proj", ""),
    ],
)  # fmt: skip
def test_command_forms(
    line: str, pool: Pool | None, queues: tuple[str, ...], app: str, concurrency: str
) -> None:
    cmd = parse_command(line, HERE)
    assert cmd is not None
    assert (cmd.pool, cmd.queues, cmd.app, cmd.concurrency) == (pool, queues, app, concurrency)


def test_not_a_worker_command() -> None:
    assert parse_command("celery -A proj beat", HERE) is None
    assert parse_command("echo worker", HERE) is None


def test_flags_and_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "run.sh").write_text("celery -A proj worker -P gevent\n")
    (tmp_path / "deploy.sh").write_text(
        "#!/bin/sh\n# celery -A proj worker -P eventlet (commented out)\n"
        "celery -A proj worker -B --autoscale=10,2 \\\n  --max-tasks-per-child 5 --time-limit 30\n"
    )
    (cmd,) = find_commands(tmp_path)  # docs/ holds examples, not deployments
    assert cmd.location == Location("deploy.sh", 3)
    assert (cmd.beat, cmd.autoscale, cmd.max_tasks_per_child, cmd.time_limit) == (
        True, "10,2", "5", "30")  # fmt: skip
