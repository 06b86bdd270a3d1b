"""Run Python in a fresh interpreter and read back the one JSON value it prints.

Monkey patching is process-wide and cannot be undone, so every test of behaviour under
gevent or eventlet runs its scenario in a subprocess of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any


def run_json(*args: str, timeout: float = 120.0) -> Any:
    """``python *args`` (e.g. ``"-c", CODE`` or a script path and its arguments); fails
    with the child's stderr unless it exits 0, then parses its stdout as JSON.

    The child runs in an empty scratch folder: ``python -c`` puts the working folder
    first on ``sys.path``, and from the repository root that would import the source
    tree's ``celery_poolkit`` (without its mapped ``plugins``/``advisor``) instead of the
    installed one, so a test would pass under tox and fail under plain pytest.
    """
    with tempfile.TemporaryDirectory(prefix="poolkit-child-") as scratch:
        proc = subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, timeout=timeout,
            check=False, cwd=scratch,
        )  # fmt: skip
    if proc.returncode != 0:
        raise AssertionError(f"python {args[0]} ... exited {proc.returncode}:\n{proc.stderr}")
    return json.loads(proc.stdout)
