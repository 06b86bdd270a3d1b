"""Read an app's ``worker_pool`` setting in a short child process.

When neither argv nor the environment names the pool, Celery takes it from the app's
configuration, which only exists once the app is imported. Importing the app here
would import celery, kombu and the user's code before patching, the exact mistake the
launcher exists to prevent, so a child interpreter imports it and prints the setting.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from celery_poolkit.errors import PoolSelectionError

_MARK = "@@poolkit-worker-pool@@"
_PROBE = f"""
import json, sys
from celery.app.utils import find_app
app = find_app(sys.argv[1])
print("\\n{_MARK}" + json.dumps(app.conf.worker_pool), flush=True)
"""


def config_worker_pool(
    app: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = 60.0,
) -> str | None:
    """The app's ``worker_pool`` setting (None when unset), read in a child process.

    Raises :class:`~celery_poolkit.errors.PoolSelectionError` when the app cannot be
    loaded, with the child's last error line and the way around it (``-P``).
    """
    import subprocess  # imported late: this module is imported before patching

    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, app],
            cwd=cwd, env=dict(os.environ if env is None else env), capture_output=True,
            text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise PoolSelectionError(
            f"loading app {app!r} to read its worker_pool setting took over {timeout:.0f}s; "
            "pass the pool explicitly (-P gevent, -P prefork, ...)"
        ) from None
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_MARK):
            value = json.loads(line[len(_MARK) :])
            return str(value) if value else None
    errors = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    why = errors[-1] if errors else f"exit code {proc.returncode}"
    raise PoolSelectionError(
        f"could not load app {app!r} to read its worker_pool setting ({why}); fix the "
        "app import or pass the pool explicitly (-P gevent, -P prefork, ...)"
    )
