"""``poolkit worker``'s bad-input paths: a clear message, exit code 2, nothing started.

(The launch forms themselves run real workers: tests/cli/integration/test_launch_forms.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.workers import script

APPS = Path(__file__).resolve().parents[1] / "apps"


def poolkit(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "POOLKIT_"))}
    return subprocess.run(
        [script("poolkit"), *argv], capture_output=True, text=True, timeout=120,
        env={**clean, **(env or {})}, cwd=APPS, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["worker", "-A", "poolprobe.app", "-P"], {}, "-P needs a pool name"),
        (["worker", "-P", "greenlet"], {}, "unknown pool 'greenlet'"),
        (["worker", "-P", "prefork"], {"CELERY_WORKER_POOL": "gevent"},
         "conflicting pools: prefork (from argv -P prefork) but gevent"),
        (["worker", "-A", "poolprobe.configured", "-P", "prefork"],
         {"CELERY_BROKER_URL": "redis://127.0.0.1:9/0"},
         "conflicting pools: prefork (from argv -P prefork) but gevent (from worker_pool in "
         "poolprobe.configured), and celery would run the configured one"),
        (["worker", "-A", "no_such_module"], {},
         "could not load app 'no_such_module' to read its worker_pool setting"),
        (["worker", "-P", "custom"], {}, "CELERY_CUSTOM_WORKER_POOL is not set"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_the_fix(argv: list[str], env: dict[str, str], message: str) -> None:
    proc = poolkit(*argv, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("poolkit worker: error: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_gevent_is_a_clear_error() -> None:
    # A sitecustomize that hides gevent, as if it were not installed.
    hide = Path(__file__).resolve().parent / "_nogevent"
    proc = poolkit("worker", "-P", "gevent", env={"PYTHONPATH": str(hide)})
    assert proc.returncode == 2, proc.stderr
    assert "the gevent pool needs gevent, which is not importable" in proc.stderr
    assert "pip install 'celery-poolkit[gevent]'" in proc.stderr


def test_worker_help_is_celery_workers_own() -> None:
    proc = poolkit("worker", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--concurrency" in proc.stdout
    assert "--pool" in proc.stdout


def test_celery_poolkit_worker_refuses_because_it_is_too_late() -> None:
    proc = subprocess.run(
        [script("celery"), "poolkit", "worker", "-P", "gevent"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "too late to patch; run `poolkit worker ...`" in proc.stderr


def test_python_dash_m_routes_worker_to_the_launcher() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "celery_poolkit", "worker", "-P", "nope"],
        capture_output=True, text=True, timeout=120, check=False, cwd=APPS,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "poolkit worker: error: argv -P nope: unknown pool 'nope'" in proc.stderr


def test_strict_launcher_refuses_to_patch_late() -> None:
    """POOLKIT_STRICT=1 with a hazard present: refused, exit 2, the hazard named.

    The hazard is made the only way one can exist before the launcher runs: a
    sitecustomize that imports Django's connection handler at interpreter start.
    """
    early = Path(__file__).resolve().parent / "_earlydjango"
    proc = poolkit("worker", "-P", "gevent", env={"POOLKIT_STRICT": "1",
                                                  "PYTHONPATH": str(early)})  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "refusing to patch for gevent late (strict=True); nothing was patched" in proc.stderr
    assert "[django-connections] django.db" in proc.stderr
