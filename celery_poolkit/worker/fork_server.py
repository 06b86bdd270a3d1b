"""``--poolkit-recycle=fork``: a keeper process forks each replacement worker (issue 13).

Re-executing the worker (``--poolkit-recycle=exec``) costs a fresh interpreter importing
Celery and the app: ~0.7-0.8 s of CPU per replacement. A fork costs milliseconds: the
worker forks once, at a safe point of its start-up (the poolkit step's ``__init__``, on
the Worker blueprint: the app and Celery are imported, no broker connection, pool thread
or timer thread exists yet), and the parent becomes the **keeper**:

* it opens no connection and runs no task; it holds the pidfile, so the pid users and
  supervisors know (pidfile, systemd's main pid) stays the same across replacements;
* it forwards SIGTERM/SIGINT/SIGQUIT/SIGHUP/SIGUSR1 to the serving child;
* when the child exits with :data:`~celery_poolkit.worker.recycle.EXIT_RECYCLE` it forks
  a new child from its own pristine state (the child resumes start-up where the keeper
  stopped, with the handover file of revoked ids as the exec mode has); any other exit
  status is the keeper's own (a child killed by signal N: 128 + N).

The children stay in the keeper's process group (a supervisor's group kill reaches them).
A terminal's Ctrl-C reaches both; the keeper then does not forward SIGINT, else Celery
would see a second SIGINT and shut down cold.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    user asked the worker to stop, not to be replaced.
    """
    code = os.waitstatus_to_exitcode(waitstatus)
    if code == EXIT_RECYCLE:
        return 0 if stopping else None
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


class Keeper:
    """Fork children until one exits with something else than a recycle.

    ``serve`` returns in each child (it goes on with the worker's start-up) and, in the
    keeper, once the keeper is done: the caller exits with :attr:`Served.status`.
    """

    def __init__(self, fork: Callable[[], int] | None = None) -> None:
        self.fork = fork or _original("os", "fork")
        self.waitpid = _original("os", "waitpid")
        self.child = 0
        self.stopping = False
        self.pending: list[int] = []  # signals that came while no child ran
        self.directory = ""
        self._saved: dict[int, Any] = {}

    def _forward(self, signum: int, _frame: Any) -> None:
        if signum in STOPPING:
            self.stopping = True
        if signum == signal.SIGINT and _terminal_sigint():
            return
        if self.child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signum)
        else:
            self.pending.append(signum)

    def _install(self) -> None:
        for signum in FORWARDED:
            self._saved[signum] = signal.getsignal(signum)
            signal.signal(signum, self._forward)

    def _restore(self) -> None:
        for signum, handler in self._saved.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def _enter_child(self, keeper: int, forks: int) -> None:
        """In a new child: the state a worker started by this keeper expects."""
        self._restore()
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

    def serve(self) -> Served | None:
        """Side effect: forks. None in a child; the keeper's result in the keeper."""
        keeper = os.getpid()
        self.directory = tempfile.mkdtemp(prefix="poolkit-keeper-")
        self._install()
        forks = 0
        try:
            while True:
                forks += 1
                self.child = 0
                pid = self.fork()
                if pid == 0:
                    self._enter_child(keeper, forks)
                    return None
                self.child = pid
                for signum in self.pending:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signum)
                self.pending.clear()
                _, waitstatus = self.waitpid(pid, 0)  # EINTR: PEP 475 retries after _forward
                self.child = 0
                status = exit_status(waitstatus, self.stopping)
                if status is not None:
                    return Served(status, forks)
                if self.stopping:  # a stop signal came while the child was gone
                    return Served(0, forks)
                logger.info("poolkit: the worker recycled; forking replacement %d", forks)
        finally:
            if os.getpid() == keeper:
                self._restore()
                shutil.rmtree(self.directory, ignore_errors=True)


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
