"""Start and stop processes we own, by pid; wait for readiness with a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class HarnessError(RuntimeError):
    """A server or worker did not come up; the message carries its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alive(pid: int) -> bool:
    """Whether a process with this pid still exists (a zombie counts until reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool],
    *,
    proc: subprocess.Popen[bytes],
    what: str,
    log: Path,
    timeout: float,
) -> None:
    """Poll ``ready`` until it is true; fail early if ``proc`` dies, late at ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            raise HarnessError(
                f"{what} exited with code {proc.returncode} before it was ready:\n{log_tail(log)}"
            )
        time.sleep(0.05)
    raise HarnessError(f"{what} was not ready after {timeout:.0f}s:\n{log_tail(log)}")


def stop_process(
    proc: subprocess.Popen[bytes],
    *,
    sig: int = signal.SIGTERM,
    timeout: float = 20.0,
    group: bool = False,
    leader_only: bool = False,
) -> int | None:
    """Send ``sig`` to the process we started (its whole session when ``group``), wait,
    then SIGKILL whatever is left. Returns the exit code, None if it had to be killed.

    ``group`` is for processes started with ``start_new_session=True`` (a prefork worker
    and its children): the process group id is the pid we started, so we still only
    signal processes we created. ``leader_only`` sends ``sig`` to that pid alone and
    keeps the group for the final SIGKILL: a Celery worker's warm shutdown is its main
    process's job, and a SIGTERM to the whole group killed the prefork children under
    it (on kombu's filesystem transport the main process then waited out the timeout).
    """
    if proc.poll() is not None:
        return proc.returncode

    def send(s: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, s)
            else:
                os.kill(proc.pid, s)

    if leader_only:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
    else:
        send(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(timeout=10)
        return None
    finally:
        if group:
            # Children of a prefork worker may outlive their parent for a moment.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)


def children(pid: int, *, zombies: bool = False) -> set[int]:
    """The child processes of ``pid`` (from /proc): live ones, and with ``zombies`` the
    ended ones not yet reaped too."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and (zombies or fields[0] != "Z"):
            found.add(int(stat.parent.name))
    return found
