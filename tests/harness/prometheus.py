"""A real Prometheus server (Debian's ``prometheus``) on 127.0.0.1, scraping given targets.

``with prometheus_server({"green": "127.0.0.1:9101"}) as prom: prom.query("up")`` starts
``prometheus`` with a generated configuration (one job per target, a 1 s scrape interval)
and a temporary storage directory, waits for ``/-/ready`` and stops it by pid.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.procs import HarnessError, free_port, stop_process, wait_until

INSTALL_HINT = "apt-get install prometheus (scripts/test installs it when missing)"
SCRAPE_INTERVAL = 1.0


@dataclass(frozen=True)
class PrometheusServer:
    port: int
    pid: int

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector of ``promql`` now: ``[{"metric": {...}, "value": [t, "v"]}]``."""
        url = (f"http://127.0.0.1:{self.port}/api/v1/query?"
               + urllib.parse.urlencode({"query": promql}))  # fmt: skip
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise HarnessError(f"Prometheus answered {body} to {promql!r}")
        return list(body["data"]["result"])

    def values(self, promql: str, label: str) -> dict[str, float]:
        """``promql``'s series by the value of ``label``."""
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(promql)}

    def wait_for(
        self, promql: str, label: str, done: Callable[[dict[str, float]], bool],
        timeout: float = 30.0,
    ) -> dict[str, float]:  # fmt: skip
        """Poll ``promql`` until ``done(values)``; the last values in the error otherwise."""
        deadline, seen = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            seen = self.values(promql, label)
            if done(seen):
                return seen
            time.sleep(SCRAPE_INTERVAL / 2)
        raise HarnessError(f"{promql!r} by {label}: still {seen} after {timeout:.0f}s")


def _binary() -> str:
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if not found:
        raise HarnessError(f"prometheus is not installed: {INSTALL_HINT}")
    return found


def _config(targets: Mapping[str, str]) -> str:
    # JSON is YAML: no YAML writer needed.
    return json.dumps({
        "global": {"scrape_interval": f"{SCRAPE_INTERVAL:g}s",
                   "scrape_timeout": f"{SCRAPE_INTERVAL:g}s"},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }, indent=2)  # fmt: skip


@contextlib.contextmanager
def prometheus_server(targets: Mapping[str, str], *, timeout: float = 60.0
                      ) -> Iterator[PrometheusServer]:  # fmt: skip
    """Prometheus scraping ``targets`` (job name -> host:port) every second."""
    binary = _binary()
    workdir = Path(tempfile.mkdtemp(prefix="poolkit-prometheus-"))
    config = workdir / "prometheus.yml"
    config.write_text(_config(targets))
    log = workdir / "prometheus.log"
    port = free_port()
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=workdir)  # fmt: skip

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    try:
        wait_until(ready, proc=proc, what="prometheus", log=log, timeout=timeout)
        yield PrometheusServer(port=port, pid=proc.pid)
    finally:
        stop_process(proc, sig=signal.SIGTERM)
        shutil.rmtree(workdir, ignore_errors=True)
