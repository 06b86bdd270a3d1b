"""``--poolkit-recycle=fork``: a keeper process forks each replacement worker (issue 13).

Re-executing the worker (``--poolkit-recycle=exec``) costs a fresh interpreter importing
Celery and the app: ~0.7-0.8 s of CPU per replacement. A fork costs milliseconds: the
worker forks once, at a safe point of its start-up (the poolkit step's ``__init__``, on
the Worker blueprint: the app and Celery are imported, no broker connection, pool thread
or timer thread exists yet), and the parent becomes the **keeper**:

* it opens no connection and runs no task; it holds the pidfile, so the pid users and
  supervisors know (pidfile, systemd's main pid) stays the same across replacements;
* it forwards SIGTERM/SIGINT/SIGQUIT to every child, SIGHUP/SIGUSR1 to the serving one;
* when the serving child decides to recycle, it tells the keeper *before* it drains (a
  byte on a pipe the keeper opened for it) and the keeper forks the successor at once,
  from its own pristine state (the child resumes start-up where the keeper stopped,
  with the handover file of revoked ids as the exec mode has): the successor connects
  and consumes while its predecessor finishes its running tasks, so the worker's slot is
  not empty for the drain, the warm shutdown and the start-up. The predecessor's exit
  with :data:`~celery_poolkit.worker.recycle.EXIT_RECYCLE` then forks nothing; a child
  that exits with it unannounced is replaced after its exit, as before. At most two
  children live at once, and successors are :data:`BACKOFF` seconds apart at least;
* any other exit status of the serving child is the keeper's own (a child killed by
  signal N: 128 + N), once every child has ended.

The children stay in the keeper's process group (a supervisor's group kill reaches them).
A terminal's Ctrl-C reaches both; the keeper then does not forward SIGINT, else Celery
would see a second SIGINT and shut down cold.
"""

from __future__ import annotations

import _socket
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery_poolkit.worker.preload import imported_since, preload, take_imported, write_imported
from celery_poolkit.worker.recycle import (
    EXIT_RECYCLE,
    FORK_DIR_ENV,
    HANDOVER_ENV,
    RECYCLES_ENV,
    handover_path,
    take_carried,
)

logger = logging.getLogger("celery_poolkit")

#: Set in each child: the keeper's pid (a child re-executed by Celery's SIGHUP handler
#: sees that it already has a keeper and does not fork again).
KEEPER_ENV = "POOLKIT_KEEPER"
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1)
#: The signals after which a child's recycle exit ends the keeper instead of a new fork.
STOPPING = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def under_keeper(environ: dict[str, str] | None = None) -> bool:
    """True in a worker whose parent is its keeper (its recycle is an exit, not an exec)."""
    value = (os.environ if environ is None else environ).get(KEEPER_ENV, "")
    return value.isdigit() and int(value) == os.getppid()


def exit_status(waitstatus: int, stopping: bool) -> int | None:
    """The keeper's exit status for a child's ``waitpid`` status; None: fork a new child.

    A recycle exit after a stop signal was forwarded ends the keeper (status 0): the
    user asked the worker to stop, not to be replaced. So does a death by that signal:
    a successor still starting (Celery's handlers not installed yet, no message taken)
    dies of the SIGTERM it was forwarded.
    """
    code = os.waitstatus_to_exitcode(waitstatus)
    if code == EXIT_RECYCLE:
        return 0 if stopping else None
    if stopping and -code in STOPPING:
        return 0
    return code if code >= 0 else 128 - code


def blocking_reason() -> str:
    """Why this process cannot fork safely now ("" when it can): other threads."""
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if others:
        return f"threads already running: {', '.join(sorted(others))}"
    return ""


def _original(module: str, name: str) -> Any:
    """The function gevent's monkey-patching replaced (the keeper never runs the hub)."""
    if "gevent" in sys.modules:
        with contextlib.suppress(ImportError):
            from gevent.monkey import get_original

            return get_original(module, name)
    return getattr(__import__(module), name)


def _reinit_child() -> None:
    """A forked gevent process must reinitialise its hub (its loop's fds are shared)."""
    if "gevent" in sys.modules:
        import gevent

        gevent.reinit()


def _stop_with_keeper(keeper: int) -> None:
    """Linux: the child gets SIGTERM (a warm shutdown) if the keeper dies, even by SIGKILL,
    so a supervisor that restarts the keeper never finds a second worker serving."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != keeper:  # the keeper died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _terminal_sigint() -> bool:
    """True when this process group is the terminal's foreground group: the terminal's
    SIGINT reaches the child directly, so forwarding it would make a second one."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


@dataclass(frozen=True, slots=True)
class Served:
    """What the keeper ends with: its exit status and how many children it forked."""

    status: int
    children: int


def _tell_keeper(message: bytes) -> bool:
    fd = _to_keeper["fd"]
    if fd < 0:
        return False
    try:
        os.write(fd, message)
    except OSError:
        return False
    return True


def announce_recycle() -> bool:
    """In a child: ask the keeper for the successor now, before this child stops
    consuming (:class:`Keeper`); False when there is no keeper to ask (then the keeper
    forks the successor after this child's recycle exit, as before)."""
    return _tell_keeper(SUCCESSOR)


def announce_ready(**_: Any) -> None:
    """In a child, at Celery's ``worker_ready``: this child consumes, so the predecessor
    that waits for it (:func:`wait_for_handoff`) may stop consuming. It also leaves the
    keeper the modules its start-up imported since the fork (:mod:`.preload`)."""
    if _to_keeper["fd"] >= 0:  # before the byte: the keeper may fork right after it
        names = imported_since(_to_keeper_modules)
        write_imported(os.environ.get(FORK_DIR_ENV, ""), names)
    _tell_keeper(READY)


def wait_for_handoff(timeout: float, give_up: Callable[[], bool] = lambda: False) -> bool:
    """In a recycling child: until the keeper says the successor consumes (True), or
    ``timeout`` seconds or ``give_up()`` (False, looked at every 50 ms). From a real
    thread: unpatched ``select``, raw fd."""
    fd = _to_keeper["fd"]
    if fd < 0:
        return False
    select = _original("select", "select")
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0 and not give_up():
        try:
            ready, _, _ = select([fd], [], [], min(left, 0.05))
            data = os.read(fd, 64) if ready else b""
        except OSError:
            return False
        if HANDOFF in data:
            return True
        if ready and not data:
            return False  # the keeper is gone
    return False


#: In a child: its end of the socket pair to the keeper (-1: none). Module state, not an
#: environment variable: a child that Celery's SIGHUP re-executes has lost the fd, and a
#: stale number could name another file.
_to_keeper = {"fd": -1}
#: In a child: the modules it had at the fork (what it imports later, the keeper may
#: import before the next fork: :mod:`celery_poolkit.worker.preload`).
_to_keeper_modules: set[str] = set()
#: child -> keeper: "fork my successor" (a recycle begins) and "I consume" (ready);
#: keeper -> child: "your successor consumes: stop consuming and drain".
SUCCESSOR, READY, HANDOFF = b"R", b"S", b"G"
#: At most one successor per this many seconds: a worker whose every task crosses
#: ``max_memory_per_child`` (or whose start-up alone does) would otherwise fork one
#: child after another.
BACKOFF = 1.0


class Keeper:
    """Fork children until the serving one exits with something else than a recycle.

    A recycling child announces its recycle *before* it drains (:func:`announce_recycle`,
    a byte on a pipe): the keeper forks the successor at once, so it starts while its
    predecessor finishes its tasks, and the predecessor's recycle exit forks nothing more.
    At most two children live at once (the serving one, one draining), and successors
    are at least ``backoff`` seconds apart. ``serve`` returns in each child (it goes on
    with the worker's start-up) and, in the keeper, once every child has ended: the caller
    exits with :attr:`Served.status`.
    """

    def __init__(self, fork: Callable[[], int] | None = None, backoff: float = BACKOFF) -> None:
        self.fork = fork or _original("os", "fork")
        self.waitpid = _original("os", "waitpid")
        self.select = _original("select", "select")
        self.backoff = backoff
        #: Live children: pid -> the read end of its pipe (-1 once it is closed).
        self.children: dict[int, int] = {}
        self.serving = 0  # the newest child, the one that consumes
        self.draining: set[int] = set()  # children that announced their recycle
        self.wanted = True  # a successor is owed (the first child too)
        self.status: int | None = None  # set when the serving child ended for good
        self.last_fork = float("-inf")
        self.stopping = False
        self.pending: list[int] = []  # signals that came while no child ran
        self.directory = ""
        self._saved: dict[int, Any] = {}
        self._wakeup = (-1, -1)
        self._saved_wakeup = -1

    def _forward(self, signum: int, _frame: Any) -> None:
        if signum in STOPPING:
            self.stopping = True
        if signum == signal.SIGINT and _terminal_sigint():
            return
        # A stop reaches every child (a draining one too: none is left behind); SIGHUP
        # (Celery re-executes) and SIGUSR1 (stack dump) the serving one only.
        targets = list(self.children) if signum in STOPPING else [self.serving] * bool(self.serving)
        if not targets:
            self.pending.append(signum)
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _install(self) -> None:
        for signum in FORWARDED:
            self._saved[signum] = signal.getsignal(signum)
            signal.signal(signum, self._forward)
        # SIGCHLD wakes the select loop through the wakeup fd (the handler does nothing);
        # gevent's patched signal.signal would hand SIGCHLD to its child watchers.
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        self._wakeup = (read, write)
        setter = _original("signal", "signal")
        self._saved[signal.SIGCHLD] = signal.getsignal(signal.SIGCHLD)
        setter(signal.SIGCHLD, _ignore)
        self._saved_wakeup = signal.set_wakeup_fd(write, warn_on_full_buffer=False)

    def _restore(self) -> None:
        setter = _original("signal", "signal")
        for signum, handler in self._saved.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                setter(signum, handler if handler is not None else signal.SIG_DFL)
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(self._saved_wakeup)
        for fd in (*self._wakeup, *self.children.values()):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wakeup = (-1, -1)

    def _enter_child(self, keeper: int, forks: int, announce: int) -> None:
        """In a new child: the state a worker started by this keeper expects."""
        self._restore()  # closes the keeper's fds, the other children's pipes among them
        self.children.clear()
        _to_keeper["fd"] = announce
        _to_keeper_modules.clear()
        _to_keeper_modules.update(sys.modules)
        _stop_with_keeper(keeper)
        _reinit_child()
        os.environ[KEEPER_ENV] = str(keeper)
        os.environ[FORK_DIR_ENV] = self.directory
        if forks > 1:
            os.environ[RECYCLES_ENV] = str(forks - 1)
        handover = handover_path()
        if os.path.exists(handover):
            os.environ[HANDOVER_ENV] = handover
        os.environ.update(take_carried(self.directory))

    def fork_in(self, now: float) -> float | None:
        """Seconds until the owed successor may be forked (0: now); None: none to fork
        now (none owed, stopping, or two children live: one drains, one serves)."""
        if not self.wanted or self.stopping or self.status is not None:
            return None
        if len(self.children) >= 2 or (self.serving and self.serving not in self.draining):
            return None
        return max(0.0, self.last_fork + self.backoff - now)

    def ended(self, pid: int, waitstatus: int) -> None:
        """Side effect on the keeper's state: child ``pid`` ended with ``waitstatus``."""
        fd = self.children.pop(pid, -1)
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        if pid != self.serving:  # a predecessor that drained: its successor serves
            self.draining.discard(pid)
            code = os.waitstatus_to_exitcode(waitstatus)
            if code not in (EXIT_RECYCLE, 0):
                logger.warning("poolkit: a recycling worker process ended with status %d", code)
            return
        self.serving = 0
        status = exit_status(waitstatus, self.stopping)
        if pid in self.draining:  # announced, its successor not forked yet (back-off)
            self.draining.discard(pid)
            status = None if not self.stopping else status
        if status is None:
            self.wanted = True  # a recycle exit without an announcement: as before
        else:
            self.status = status

    def announced(self, pid: int) -> None:
        """Child ``pid`` asked for its successor: it is about to drain."""
        if pid == self.serving and pid not in self.draining:
            self.draining.add(pid)
            self.wanted = True

    def consuming(self, pid: int) -> None:
        """Side effect: child ``pid`` consumes; if it serves, its draining predecessors
        are told to stop consuming (a byte on their sockets)."""
        if pid != self.serving:
            return
        for other in self.draining:
            fd = self.children.get(other, -1)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.write(fd, HANDOFF)

    def _preload(self) -> None:
        """Side effect: import what the last child imported after its fork, so the next
        child inherits it (:mod:`celery_poolkit.worker.preload`)."""
        names = take_imported(self.directory)
        if not names:
            return
        done = preload(names)
        logger.debug("poolkit: the keeper imported %d module(s) its children import "
                     "after the fork (%d failed)", done.imported, done.failed)  # fmt: skip
        reason = blocking_reason()
        if reason:  # not expected of PRELOADABLE's modules: say so, the fork goes on
            logger.warning("poolkit: the keeper's preload started threads (%s)", reason)

    def _spawn(self, keeper: int, forks: int) -> int:
        if forks > 1:
            self._preload()
        # Both ways (requests up, the handoff down); _socket: never gevent's.
        ours, theirs = _socket.socketpair()
        pid = self.fork()
        if pid == 0:
            ours.close()
            self._enter_child(keeper, forks, theirs.detach())
            return 0
        theirs.close()
        fd = ours.detach()
        os.set_blocking(fd, False)
        self.children[pid] = fd
        self.serving = pid
        self.wanted = False
        self.last_fork = time.monotonic()
        for signum in self.pending:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        self.pending.clear()
        if forks > 1:
            logger.info("poolkit: the worker recycles; forked replacement %d", forks - 1)
        return pid

    def _wait(self, timeout: float | None) -> None:
        """Until a child writes, ends, or ``timeout`` passes; then take in what happened."""
        readable = [self._wakeup[0], *(fd for fd in self.children.values() if fd >= 0)]
        try:
            ready, _, _ = self.select(readable, [], [], timeout)
        except InterruptedError:  # pragma: no cover - PEP 475 retries; gevent's may not
            ready = []
        for fd in ready:
            self._read(fd)
        for pid in list(self.children):
            done, waitstatus = self.waitpid(pid, os.WNOHANG)
            if done:
                self.ended(pid, waitstatus)

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # a child that ended with a handoff unread: reset, as an EOF
            data = b""
        if fd == self._wakeup[0]:
            return
        pid = next((p for p, f in self.children.items() if f == fd), 0)
        if SUCCESSOR in data:
            self.announced(pid)
        if READY in data:
            self.consuming(pid)
        if not data:  # the child closed its end (after announcing, or on exit)
            os.close(fd)
            self.children[pid] = -1

    def serve(self) -> Served | None:
        """Side effect: forks. None in a child; the keeper's result in the keeper."""
        keeper = os.getpid()
        self.directory = tempfile.mkdtemp(prefix="poolkit-keeper-")
        self._install()
        forks = 0
        try:
            while True:
                delay = self.fork_in(time.monotonic())
                if delay == 0:
                    forks += 1
                    if self._spawn(keeper, forks) == 0:
                        return None
                    continue
                if not self.children and delay is None:
                    return Served(self.status or 0, forks)
                self._wait(delay)
        finally:
            if os.getpid() == keeper:
                self._restore()
                shutil.rmtree(self.directory, ignore_errors=True)


def _ignore(_signum: int, _frame: Any) -> None:
    """SIGCHLD in the keeper: the wakeup fd does the work."""


def run_keeper(worker: Any) -> None:
    """Side effect: turn this worker process into a keeper unless it cannot fork safely.

    Returns in the serving child (and when forking is not possible: the caller keeps
    recycling by exec); never returns in the keeper, which exits with the status of its
    last child.
    """
    from celery.platforms import Pidfile

    reason = blocking_reason()
    if reason:
        logger.warning("poolkit: --poolkit-recycle=fork: cannot fork safely (%s); "
                       "recycling by re-exec instead", reason)  # fmt: skip
        return
    pidlock = None
    pidfile = getattr(worker, "pidfile", None)
    if pidfile:
        # The keeper holds the pidfile (its pid is the one users know); without atexit
        # hooks, which a forked child would run and remove the keeper's file.
        pidlock = Pidfile(pidfile)
        if pidlock.is_locked() and not pidlock.remove_if_stale():
            print(f"ERROR: Pidfile ({pidfile}) already exists.", file=sys.stderr)
            os._exit(2)
        pidlock.acquire()
        worker.pidfile = None  # the children do not take it again
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    served = Keeper().serve()
    if served is None:
        return  # the child: the worker's start-up goes on
    if pidlock is not None:
        with contextlib.suppress(OSError):
            pidlock.release()
    logger.info("poolkit: keeper exits with status %d after %d worker process(es)",
                served.status, served.children)  # fmt: skip
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(served.status)
