"""The fork server's keeper (``--poolkit-recycle=fork``) with real forked processes.

The keeper runs in a subprocess (a small script below), never in pytest's own process:
forking a test runner that may hold threads is what the keeper itself refuses to do.
"""

from __future__ import annotations

import itertools
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

    from celery_poolkit.worker.fork_server import (
        announce_ready, announce_recycle, wait_for_handoff)

    out = Path(sys.argv[1])

    def fork():  # the keeper's own clock of its forks, for the back-off test
        pid = os.fork()
        if pid:
            with open(out / "forks", "a") as f:
                f.write(f"{time.monotonic()}\\n")
        return pid

    served = Keeper(fork=fork, backoff=float(os.environ.get("BACKOFF", "1"))).serve()
    if served is not None:
        (out / "keeper").write_text(f"{served.status} {served.children}")
        sys.exit(served.status)
    n = int(os.environ.get(RECYCLES_ENV, "0"))
    assert os.environ[KEEPER_ENV] == str(os.getppid())
    (out / f"start-{n}").write_text(f"{os.getpid()} {time.monotonic()}")
    if n < int(os.environ["RECYCLE_FIRST"]):
        os._exit(75)
    if n < int(os.environ.get("ANNOUNCE_FIRST", "0")):
        def drain_stop(signum, frame):
            (out / f"stopped-{n}").write_text(str(signum))
            os._exit(0)
        signal.signal(signal.SIGTERM, drain_stop)
        assert announce_recycle()
        if os.environ.get("HANDOFF"):  # consumes on until the successor consumes
            got = wait_for_handoff(30)
            (out / f"handoff-{n}").write_text(f"{got} {time.monotonic()}")
        time.sleep(float(os.environ.get("DRAIN", "0")))
        (out / f"end-{n}").write_text(f"{os.getpid()} {time.monotonic()}")
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
    time.sleep(float(os.environ.get("READY_AFTER", "0")))
    (out / "ready").write_text(str(time.monotonic()))
    announce_ready()
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


def _pid_at(path: Path) -> tuple[int, float]:
    pid, at = _wait_for(path).split()
    return int(pid), float(at)


def test_the_successor_starts_while_its_predecessor_drains(tmp_path: Path) -> None:
    # Two children announce their recycle and drain for 2 s each; the third serves.
    keeper = _keeper(tmp_path, ANNOUNCE_FIRST="2", DRAIN="2", BACKOFF="0.2")
    try:
        child, recycles = map(int, _wait_for(tmp_path / "child").split())
        assert recycles == 2
        for n in (0, 1):
            _, started_next = _pid_at(tmp_path / f"start-{n + 1}")
            _, ended = _pid_at(tmp_path / f"end-{n}")
            assert started_next < ended  # forked during the drain, not after the exit
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(20) == 0
        # The drainers' recycle exits forked nothing: three children in all.
        assert _wait_for(tmp_path / "keeper") == "0 3"
        assert not alive(child)
    finally:
        if keeper.poll() is None:
            keeper.kill()
            keeper.wait(5)


@pytest.mark.parametrize("how", ["term", "kill"])
def test_a_stop_during_the_overlap_ends_both_children(tmp_path: Path, how: str) -> None:
    keeper = _keeper(tmp_path, ANNOUNCE_FIRST="1", DRAIN="60", BACKOFF="0")
    try:
        draining, _ = _pid_at(tmp_path / "start-0")
        serving, _ = map(int, _wait_for(tmp_path / "child").split())
        assert alive(draining)
        assert alive(serving)
        if how == "term":
            keeper.send_signal(signal.SIGTERM)  # forwarded to both
            assert keeper.wait(20) == 0
            assert _wait_for(tmp_path / "keeper") == "0 2"
        else:
            keeper.kill()  # nothing forwarded: each child's parent-death signal acts
            keeper.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (alive(draining) or alive(serving)):
            time.sleep(0.02)
        assert not alive(draining)
        assert not alive(serving)
        assert _wait_for(tmp_path / "stopped-0") == str(int(signal.SIGTERM))
        assert (tmp_path / "signals").read_text().split() == [str(int(signal.SIGTERM))]
    finally:
        if keeper.poll() is None:
            keeper.kill()
            keeper.wait(5)


def test_successors_are_a_backoff_apart(tmp_path: Path) -> None:
    # Every child recycles at once (a leak on every task): no fork storm.
    keeper = _keeper(tmp_path, ANNOUNCE_FIRST="4", BACKOFF="0.5")
    try:
        _wait_for(tmp_path / "child")
        forks = [float(t) for t in (tmp_path / "forks").read_text().split()]
        assert len(forks) == 5
        gaps = [b - a for a, b in itertools.pairwise(forks)]
        assert min(gaps) >= 0.5, gaps
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(20) == 0
        assert _wait_for(tmp_path / "keeper") == "0 5"
    finally:
        if keeper.poll() is None:
            keeper.kill()
            keeper.wait(5)


def _state(backoff: float = 1.0) -> fork_server.Keeper:
    return fork_server.Keeper(fork=lambda: pytest.fail("no fork in a state test"), backoff=backoff)


def test_keeper_state_forks_one_successor_per_announcement() -> None:
    keeper = _state()
    assert keeper.fork_in(0.0) == 0  # the first child
    keeper.children, keeper.serving, keeper.wanted, keeper.last_fork = {10: -1}, 10, False, 0.0
    assert keeper.fork_in(5.0) is None  # serving, nothing owed
    keeper.announced(10)
    keeper.announced(10)  # twice: still one successor
    assert keeper.fork_in(0.25) == 0.75  # the back-off since the last fork
    assert keeper.fork_in(5.0) == 0
    keeper.children, keeper.serving, keeper.wanted = {10: -1, 11: -1}, 11, False
    keeper.announced(10)  # not the serving child any more: ignored
    keeper.announced(11)  # the successor recycles at once: two live, wait for the first
    assert keeper.fork_in(9.0) is None
    keeper.ended(10, _forked_status(EXIT_RECYCLE))  # the drainer's exit forks nothing more
    assert keeper.fork_in(9.0) == 0
    assert keeper.status is None
    keeper.ended(11, _forked_status(EXIT_RECYCLE))  # announced, then ended before its fork
    assert keeper.fork_in(9.0) == 0
    assert keeper.status is None


def test_keeper_state_ends_with_the_serving_childs_status() -> None:
    keeper = _state()
    keeper.children, keeper.serving, keeper.wanted = {10: -1, 11: -1}, 11, False
    keeper.draining = {10}
    keeper.ended(11, _forked_status(3))
    assert keeper.status == 3
    assert keeper.fork_in(9.0) is None
    keeper.ended(10, _forked_status(EXIT_RECYCLE))
    assert not keeper.children
    stopped = _state()
    stopped.children, stopped.serving, stopped.wanted, stopped.stopping = {12: -1}, 12, False, True
    stopped.ended(12, _forked_status(sig=signal.SIGTERM))  # died of the forwarded stop
    assert stopped.status == 0


def test_a_recycling_child_consumes_until_its_successor_is_ready(tmp_path: Path) -> None:
    # The first child announces and waits for the handoff; the second is ready 1 s later.
    keeper = _keeper(tmp_path, ANNOUNCE_FIRST="1", HANDOFF="1", READY_AFTER="1", BACKOFF="0")
    try:
        got, handed = _wait_for(tmp_path / "handoff-0").split()
        assert got == "True"
        ready = float(_wait_for(tmp_path / "ready"))
        assert ready <= float(handed)  # told only once the successor was ready
        _, started = _pid_at(tmp_path / "start-1")
        assert float(handed) - started >= 1.0
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(20) == 0
        assert _wait_for(tmp_path / "keeper") == "0 2"
    finally:
        if keeper.poll() is None:
            keeper.kill()
            keeper.wait(5)
