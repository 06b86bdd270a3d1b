"""The fork server's keeper (``--poolkit-recycle=fork``) with real forked processes.

The keeper runs in a subprocess (a small script below), never in pytest's own process:
forking a test runner that may hold threads is what the keeper itself refuses to do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from celery_poolkit.worker import fork_server, recycle
from celery_poolkit.worker.recycle import EXIT_RECYCLE, RECYCLES_ENV
from harness.procs import alive

#: A keeper whose children behave as the test says: the first ``RECYCLE_FIRST`` children
#: exit with the recycle status, the next records its pid and the signals it gets, and
#: on SIGTERM exits with ``ON_TERM``; ``EXIT_AT_ONCE`` makes it exit with that status.
KEEPER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from celery_poolkit.worker.fork_server import Keeper, KEEPER_ENV
    from celery_poolkit.worker.recycle import RECYCLES_ENV

    out = Path(sys.argv[1])
    served = Keeper().serve()
    if served is not None:
        (out / "keeper").write_text(f"{served.status} {served.children}")
        sys.exit(served.status)
    n = int(os.environ.get(RECYCLES_ENV, "0"))
    assert os.environ[KEEPER_ENV] == str(os.getppid())
    if n < int(os.environ["RECYCLE_FIRST"]):
        os._exit(75)
    if os.environ.get("EXIT_AT_ONCE"):
        os._exit(int(os.environ["EXIT_AT_ONCE"]))
    def record(signum, frame):
        with open(out / "signals", "a") as f:
            f.write(f"{signum}\\n")
        if signum == signal.SIGTERM:
            os._exit(int(os.environ["ON_TERM"]))
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGQUIT):
        signal.signal(s, record)
    (out / "child").write_text(f"{os.getpid()} {n}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.01)
    os._exit(9)
    """
)


def _keeper(tmp_path: Path, **env: str) -> subprocess.Popen[bytes]:
    full = {**os.environ, "RECYCLE_FIRST": "0", "ON_TERM": "0", **env}
    full.pop(RECYCLES_ENV, None)
    return subprocess.Popen([sys.executable, "-c", KEEPER, str(tmp_path)], env=full)


def _wait_for(path: Path, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} never written")


def _forked_status(code: int | None = None, sig: int | None = None) -> int:
    """The waitpid status of a real forked child that exits with ``code`` or dies of
    ``sig``."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        if sig is not None:
            os.kill(os.getpid(), sig)
            time.sleep(5)
        os._exit(code or 0)
    _, status = os.waitpid(pid, 0)
    return status


def test_exit_status_maps_a_childs_status() -> None:
    assert fork_server.exit_status(_forked_status(EXIT_RECYCLE), stopping=False) is None
    assert fork_server.exit_status(_forked_status(EXIT_RECYCLE), stopping=True) == 0
    assert fork_server.exit_status(_forked_status(0), stopping=False) == 0
    assert fork_server.exit_status(_forked_status(3), stopping=False) == 3
    killed = _forked_status(sig=signal.SIGKILL)
    assert fork_server.exit_status(killed, stopping=False) == 128 + signal.SIGKILL


def test_keeper_reforks_on_recycle_and_forwards_signals(tmp_path: Path) -> None:
    keeper = _keeper(tmp_path, RECYCLE_FIRST="2", ON_TERM="0")
    try:
        child, recycles = map(int, _wait_for(tmp_path / "child").split())
        assert recycles == 2  # two children recycled, the third serves
        assert child != keeper.pid
        assert alive(child)
        for signum in (signal.SIGHUP, signal.SIGUSR1, signal.SIGQUIT):
            keeper.send_signal(signum)
            expected = str(int(signum))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                got = (tmp_path / "signals").read_text().split() if (
                    tmp_path / "signals").exists() else []  # fmt: skip
                if expected in got:
                    break
                time.sleep(0.02)
            else:
                raise AssertionError(f"signal {signum} not forwarded")
        assert keeper.poll() is None  # SIGQUIT forwarded, the child still runs: no exit
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(20) == 0
        assert _wait_for(tmp_path / "keeper") == "0 3"
        assert not alive(child)
    finally:
        if keeper.poll() is None:
            keeper.kill()
            keeper.wait(5)


@pytest.mark.parametrize(("on_term", "status"), [("75", 0), ("4", 4)])
def test_a_recycle_exit_after_sigterm_ends_the_keeper(
    tmp_path: Path, on_term: str, status: int
) -> None:
    keeper = _keeper(tmp_path, ON_TERM=on_term)
    try:
        child, _ = map(int, _wait_for(tmp_path / "child").split())
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(20) == status
        assert _wait_for(tmp_path / "keeper") == f"{status} 1"  # no new child forked
        assert not alive(child)
    finally:
        if keeper.poll() is None:
            keeper.kill()
            keeper.wait(5)


def test_a_childs_own_exit_status_is_the_keepers(tmp_path: Path) -> None:
    keeper = _keeper(tmp_path, EXIT_AT_ONCE="5")
    assert keeper.wait(20) == 5
    assert _wait_for(tmp_path / "keeper") == "5 1"


def test_under_keeper_and_handover_path() -> None:
    assert fork_server.under_keeper({fork_server.KEEPER_ENV: str(os.getppid())})
    assert not fork_server.under_keeper({fork_server.KEEPER_ENV: str(os.getpid())})
    assert not fork_server.under_keeper({fork_server.KEEPER_ENV: "x"})
    assert not fork_server.under_keeper({})
    assert recycle.handover_path({}) == ""
    assert recycle.handover_path({recycle.FORK_DIR_ENV: "/d"}) == "/d/handover.json"


def test_blocking_reason_names_other_threads() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="poolkit-test-thread", daemon=True)
    thread.start()
    try:
        assert "poolkit-test-thread" in fork_server.blocking_reason()
    finally:
        stop.set()
        thread.join(5)


def test_the_child_stops_when_the_keeper_is_killed(tmp_path: Path) -> None:
    keeper = _keeper(tmp_path)
    try:
        child, _ = map(int, _wait_for(tmp_path / "child").split())
        keeper.kill()  # SIGKILL: nothing forwarded; the kernel's parent-death signal acts
        keeper.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive(child):
            time.sleep(0.02)
        assert not alive(child)
        assert (tmp_path / "signals").read_text().split() == [str(int(signal.SIGTERM))]
    finally:
        if keeper.poll() is None:
            keeper.kill()
            keeper.wait(5)


def test_carried_variables_round_trip_and_bad_files_give_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celery_poolkit.worker.limit_events import CARRIED_ENV

    monkeypatch.setenv(CARRIED_ENV, '{"recycles":{"tasks":2}}')
    recycle.write_carried(str(tmp_path))
    assert recycle.take_carried(str(tmp_path)) == {CARRIED_ENV: '{"recycles":{"tasks":2}}'}
    assert recycle.take_carried(str(tmp_path)) == {}  # taken once: the file is gone
    carried = tmp_path / recycle.CARRIED_NAME
    for bad in ("[1]", "{", '{"PATH": "/evil"}', f'{{"{CARRIED_ENV}": 3}}'):
        carried.write_text(bad)
        assert recycle.take_carried(str(tmp_path)) == {}
    carried.write_text(" " * (recycle.CARRIED_MAX_BYTES + 1))
    assert recycle.take_carried(str(tmp_path)) == {}
