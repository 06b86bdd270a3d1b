"""Real Celery worker processes, launched the way users launch them.

``start_worker(["celery", "-A", "shop", "worker", "-P", "gevent", "-c", "20"], …)`` runs
the console script from the interpreter's own environment (so tox's venv, not whatever
``celery`` is first on PATH), logs to a file, and returns once the worker logged
``ready.``; ``WorkerProcess.stop()`` sends a warm-shutdown SIGTERM by pid.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.procs import log_tail, stop_process, wait_until

READY = re.compile(r"\bready\.\s*$", re.MULTILINE)  # "<hostname> ready." (INFO)


def script(name: str) -> str:
    """The path of console script ``name`` installed beside the running interpreter."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


@dataclass
class WorkerProcess:
    argv: list[str]
    proc: subprocess.Popen[bytes]
    log: Path
    returncode: int | None = field(default=None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, text: str, count: int = 1, timeout: float = 60.0) -> str:
        """The log once ``text`` is in it ``count`` times."""
        wait_until(
            lambda: self.output().count(text) >= count, proc=self.proc,
            what=f"{count} x {text!r} in the log", log=self.log, timeout=timeout,
        )  # fmt: skip
        return self.output()

    def tail(self, lines: int = 60) -> str:
        return log_tail(self.log, lines)

    def stop(self, timeout: float = 30.0) -> int | None:
        """Warm shutdown (SIGTERM to the main process, which stops its pool, as ``kill
        -TERM $MAINPID`` does), then SIGKILL of the worker's session after ``timeout``."""
        self.returncode = stop_process(
            self.proc, sig=signal.SIGTERM, timeout=timeout, group=True, leader_only=True
        )
        return self.returncode


def start_worker(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    log_dir: str | os.PathLike[str] | None = None,
) -> WorkerProcess:
    """Launch ``argv`` (``celery …`` or ``poolkit worker …``) and wait until it is ready.

    The first element may be a bare script name (``celery``, ``poolkit``); it is resolved
    beside ``sys.executable``. ``--loglevel=INFO`` is appended unless a log level is given,
    because readiness is read from the worker's ``<hostname> ready.`` log line, which
    works on every transport (remote-control pings do not, e.g. on the filesystem broker).
    """
    args = [script(argv[0]), *argv[1:]]
    if not any(a.startswith(("-l", "--loglevel")) for a in args):
        args.append("--loglevel=INFO")
    log_root = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="poolkit-worker-"))
    log = log_root / "worker.log"
    # Inherited CELERY_* variables (a developer's CELERY_BROKER_URL, say) would silently
    # change what the worker does; a test states the ones it wants in ``env``.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    full_env = {**inherited, **(env or {}), "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    worker = WorkerProcess(argv=args, proc=proc, log=log)
    try:
        wait_until(
            lambda: bool(READY.search(worker.output())),
            proc=proc,
            what=" ".join(args),
            log=log,
            timeout=timeout,
        )
    except BaseException:
        worker.stop(timeout=5)
        raise
    return worker
