"""Run Python in a fresh interpreter and read back the one JSON value it prints.

Monkey patching is process-wide and cannot be undone, so every test of behaviour under
gevent or eventlet runs its scenario in a subprocess of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def run_json(*args: str, timeout: float = 120.0) -> Any:
    """``python *args`` (e.g. ``"-c", CODE`` or a script path and its arguments); fails
    with the child's stderr unless it exits 0, then parses its stdout as JSON."""
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"python {args[0]} ... exited {proc.returncode}:\n{proc.stderr}")
    return json.loads(proc.stdout)
