"""The servers a run needs: Redis and PostgreSQL from the test harness, and the slow
upstream HTTP API (:mod:`poolbench.upstream`), all on loopback, all stopped by pid."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.procs import free_port, port_open, stop_process, wait_until


@contextlib.contextmanager
def upstream_server(delay: float) -> Iterator[str]:
    """Start the slow HTTP server; yields its URL."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="poolbench-upstream-")) / "upstream.log"
    script = Path(__file__).with_name("upstream.py")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), "--port", str(port), "--delay", str(delay)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: port_open(port), proc=proc, what="upstream server", log=log, timeout=20)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_process(proc)
