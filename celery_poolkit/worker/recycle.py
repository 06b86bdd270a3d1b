"""The worker replaces itself: poolkit's recycling on one-process pools (threads, gevent, solo).

Prefork recycles a child process; a one-process pool has only the worker itself. So
:class:`Recycler` does to the worker what prefork does to a child, gracefully and bounded:

1. stop consuming: ``celery.worker.state.should_stop`` is the flag Celery's own SIGTERM
   handler sets, so the consumer loop starts Celery's warm shutdown (the connection is
   closed cleanly and Redis gets the reserved messages back);
2. let the other running tasks finish, for at most ``drain`` seconds;
3. replace the process: ``os.execv`` with the interpreter's own argv (``sys.orig_argv``:
   same pid, same log, same options), or, under ``--poolkit-recycle=exit``, exit with
   :data:`EXIT_RECYCLE` for a supervisor (systemd ``Restart=always``, Kubernetes) to start
   a new one, or, under ``--poolkit-recycle=fork``, exit with it: the keeper process
   (:mod:`celery_poolkit.worker.fork_server`) forked the replacement when the recycle
   began (step 1 announces it), so the successor serves while this process drains.

A task stuck in a C call never returns, and Celery's warm shutdown would wait for it forever
(``ThreadPoolExecutor.shutdown(wait=True)``); the drain thread does not: once only the stuck
tasks are left, or the bound has passed, it replaces the process from where it is.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Collection, MutableMapping
from typing import Any

logger = logging.getLogger("celery_poolkit")

#: The exit status of a worker that recycled under ``--poolkit-recycle=exit``
#: (``EX_TEMPFAIL``: "try again", which supervisors restart).
EXIT_RECYCLE = 75
#: How many times this worker process replaced itself (set across ``os.execv``).
RECYCLES_ENV = "POOLKIT_RECYCLES"
#: The file (set across ``os.execv``) in which a worker hands its successor what Celery's
#: mingle would otherwise fetch from the other workers: the revoked task ids and the clock.
HANDOVER_ENV = "POOLKIT_HANDOVER"
#: The most a handover file may hold (Celery keeps at most 50,000 revoked ids, ~2 MB).
HANDOVER_MAX_BYTES = 16 * 1024 * 1024
#: Set by the keeper (``--poolkit-recycle fork``) in each child: its private directory,
#: where a recycling child leaves the handover files for its successor.
FORK_DIR_ENV = "POOLKIT_FORK_DIR"
HANDOVER_NAME = "handover.json"
#: What else a recycling child hands its successor: the environment variables that
#: ``exec`` would carry across ``os.execve`` (the metrics' limit counts), as JSON.
CARRIED_NAME = "environ.json"
CARRIED_MAX_BYTES = 64 * 1024
MODES = ("exec", "exit", "fork")
#: fork: how long a recycling worker keeps consuming while its successor starts; then it
#: stops consuming and drains whether or not the successor consumes.
HANDOFF_WAIT = 10.0
#: fork: a recycling worker whose resident memory passes this many times its
#: ``max_memory_per_child`` stops consuming at once, its successor ready or not.
HANDOFF_MEMORY = 1.5
#: How long a recycling worker that stopped consuming waits for the reply of a fetch it
#: had already sent (kombu's Redis BRPOP times out after 1 s by default), with a margin
#: for a loaded host.
LAST_FETCH_WAIT = 3.0


def start_thread(target: Callable[[], None], name: str) -> None:
    """A real OS thread, also under gevent's monkey-patching (a greenlet would not run
    while a task blocks the hub, which is when poolkit's threads must act)."""
    try:
        from gevent.monkey import get_original, is_module_patched

        patched = is_module_patched("threading")
    except ImportError:
        patched = False
    if patched:
        start_new = get_original("_thread", "start_new_thread")
        start_new(target, ())
        return
    import threading

    threading.Thread(target=target, name=name, daemon=True).start()


def original_lock() -> Any:
    """A lock of the real ``_thread`` module (gevent's patched one would switch greenlets)."""
    try:
        from gevent.monkey import get_original

        return get_original("_thread", "allocate_lock")()
    except ImportError:
        import _thread

        return _thread.allocate_lock()


def resident_kib() -> int:
    """This process's resident set size now, in KiB (Celery's unit for
    ``worker_max_memory_per_child``). Not ``ru_maxrss``: that is the peak, and Linux keeps
    it across ``execve``, so a replaced worker would recycle again at once."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def replacement_argv() -> list[str]:
    """The command line that started this interpreter (``python /venv/bin/celery -A …``)."""
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    return [sys.executable, *argv[1:]]


class Recycler:
    """Replace this worker process once (the first reason wins), after a bounded drain."""

    def __init__(
        self,
        mode: str = "exec",
        drain: float = 30.0,
        *,
        pending: Callable[[], Collection[str]] | None = None,
        stop_consuming: Callable[[], None] | None = None,
        stop_in_loop: Callable[[], bool] | None = None,
        fetch_settled: Callable[[], bool] | None = None,
    ) -> None:
        self.mode = mode
        #: fork (set by the step): asks the keeper for the successor when the recycle
        #: begins (``announced``: it was asked), and waits, consuming on, until the
        #: successor consumes (at most ``handoff_wait`` seconds).
        self.announce: Callable[[], bool] | None = None
        self.announced = False
        self.handoff: Callable[[float, Callable[[], bool]], bool] | None = None
        self.handoff_wait = HANDOFF_WAIT
        self.hurried = False  # stop consuming now, without waiting for the successor
        self.stop_consuming = stop_consuming
        #: Cancel the task consumer in the consumer's event loop (False: no loop, nothing
        #: done), and whether no fetch sent before the cancel still awaits its reply.
        self.stop_in_loop = stop_in_loop
        self.fetch_settled = fetch_settled
        self.drain = drain
        self.pending = pending or _pending_requests
        self.reason = ""
        #: Set when the user asked the worker to stop (SIGTERM/SIGINT/SIGQUIT) while it
        #: recycles: the stop wins, no successor is started. Celery's warm-shutdown flag
        #: cannot tell: the recycle sets the same ``should_stop`` the signal handler does.
        self.stopping = False
        self.stuck: set[str] = set()
        self._lock = original_lock()
        #: Told the reason of the request (the metrics: celery_poolkit.worker.limit_events).
        self.on_request: Callable[[str], None] | None = None

    @property
    def requested(self) -> bool:
        return bool(self.reason)

    def on_shutting_down(self, **_: Any) -> None:
        """Celery's ``worker_shutting_down``: sent only from its signal handlers."""
        self.stopping = True

    def connect(self) -> None:
        """Side effect: connect to Celery's ``worker_shutting_down`` signal."""
        from celery import signals

        signals.worker_shutting_down.connect(
            self.on_shutting_down, weak=False, dispatch_uid=f"poolkit-recycle-{id(self)}"
        )

    def request(self, reason: str, stuck: Collection[str] = ()) -> bool:
        """Start recycling for ``reason``; ``stuck``: ids of tasks that will never end.

        Safe from any thread; False when a recycle is already under way (its stuck set grows).
        """
        from celery.worker import state

        with self._lock:
            self.stuck.update(stuck)
            if self.reason:
                return False
            if state.should_stop is not None or state.should_terminate is not None:
                return False  # the worker is already shutting down: not replaced
            self.reason = reason
        if self.on_request is not None:
            with contextlib.suppress(Exception):  # the metrics must never stop a recycle
                self.on_request(reason)
        self._hand_over_early()
        logger.warning(
            "poolkit: recycling this worker (%s): %s, waits up to %gs for its running "
            "tasks, then %s",
            reason,
            "consumes until its replacement does, then stops consuming"
            if self.announced and not stuck
            else "stops consuming",
            self.drain,
            {"exec": "replaces itself", "fork": "exits (its keeper forks a replacement)"}.get(
                self.mode, f"exits with status {EXIT_RECYCLE}"
            ),
        )
        if stuck and self.stop_consuming is not None:
            # Celery's warm shutdown would wait for the stuck thread forever, and closes
            # the channel under the tasks still queued in the pool: only stop consuming,
            # let what was received run and ack, then replace.
            self.stop_consuming()
        elif self.announced and self.handoff is not None:
            # fork: go on consuming until the successor consumes, then stop.
            start_thread(self._handoff_then_drain, "poolkit-recycle")
            return True
        else:
            self._warm_shutdown()
        start_thread(self._drain_then_replace, "poolkit-recycle")
        return True

    def hurry(self) -> None:
        """Stop consuming now rather than when the successor consumes (fork)."""
        self.hurried = True

    def _warm_shutdown(self) -> None:
        from celery.worker import state

        state.should_stop = 0  # Celery's warm shutdown: the consumer loop sees it
        atexit.register(self.replace)  # the warm shutdown ended normally

    def _handoff_then_drain(self) -> None:
        handoff = self.handoff
        if handoff is not None and not handoff(self.handoff_wait, lambda: self.hurried):
            why = "memory" if self.hurried else f"{self.handoff_wait:g}s"
            logger.warning("poolkit: stopping this worker before its replacement "
                           "consumes (%s)", why)  # fmt: skip
        self._settle_last_fetch()
        self._warm_shutdown()
        self._drain_then_replace()

    def _settle_last_fetch(self) -> None:
        """Stop consuming in the consumer's loop, and let the loop read the reply to a
        fetch it had already sent before Celery's warm shutdown stops it.

        Redis hands a BRPOP sent just before the cancel one more message, up to a second
        later; a running loop requeues it at once (no consumer). The warm shutdown stops
        the loop without reading it: the message would wait in this process's socket for
        the whole drain while the successor idles (and be lost if the process exits
        first). Without an event loop (gevent, solo) the worker's own loop reads it."""
        if self.stop_in_loop is None or self.fetch_settled is None or not self.stop_in_loop():
            return
        deadline = time.monotonic() + LAST_FETCH_WAIT
        while time.monotonic() < deadline and not self.fetch_settled():
            time.sleep(0.02)

    def _hand_over_early(self) -> None:
        """fork: leave the handover for the successor, then ask the keeper to fork it now,
        so it starts while this process drains. Its revoked ids are those known now; the
        successor listens for revokes itself within a fraction of a second."""
        if self.mode != "fork" or self.announce is None:
            return
        path = handover_path()
        if path:
            write_handover(path)
            write_carried(os.path.dirname(path))
        self.announced = self.announce()

    def _drain_then_replace(self) -> None:
        deadline = time.monotonic() + self.drain
        while time.monotonic() < deadline:
            with self._lock:
                stuck = set(self.stuck)
            left = set(self.pending()) - stuck
            if not left and stuck:
                time.sleep(0.2)  # the last acks, sent from the pool's threads
                break  # only tasks that never end: Celery's shutdown would wait forever
            time.sleep(0.05)
        else:
            logger.warning(
                "poolkit: %d task(s) still running after %gs; replacing anyway",
                len(set(self.pending()) - self.stuck),
                self.drain,
            )
        self.replace()

    def replace(self) -> None:
        """Side effect: the process becomes a fresh worker (exec) or ends (exit); nothing
        when the user asked the worker to stop meanwhile (the shutdown goes on)."""
        if self.stopping:
            logger.warning("poolkit: asked to stop while recycling; not replacing this worker")
            return
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed stream must not stop the recycle
                stream.flush()
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        if self.mode == "exit":
            os._exit(EXIT_RECYCLE)
        if self.mode == "fork":
            path = "" if self.announced else handover_path()
            if path:  # the keeper hands them to the next child
                write_handover(path)
                write_carried(os.path.dirname(path))
            os._exit(EXIT_RECYCLE)
        env = dict(os.environ)
        env[RECYCLES_ENV] = str(recycles() + 1)
        handover = write_handover()
        if handover:
            env[HANDOVER_ENV] = handover
        argv = replacement_argv()
        try:
            os.execve(argv[0], argv, env)
        except OSError:
            logger.exception(
                "poolkit: could not re-exec %s; exiting with status %d", argv, EXIT_RECYCLE
            )
            if handover:  # no successor will read it
                with contextlib.suppress(OSError):
                    os.unlink(handover)
            os._exit(EXIT_RECYCLE)


def recycles() -> int:
    """How many times this worker process has replaced itself."""
    value = os.environ.get(RECYCLES_ENV, "0")
    return int(value) if value.isdigit() else 0


def _pending_requests() -> set[str]:
    """The ids of the tasks this worker holds: running or received and not yet started."""
    from celery.worker import state

    return {r.id for r in (*list(state.active_requests), *list(state.reserved_requests))}


def consumer_stopper(worker: Any) -> Callable[[], None]:
    """Cancel the worker's task consumer in the consumer's own loop (kombu is not
    thread-safe): no more messages arrive, those received still run and are acked."""

    def cancel() -> None:
        consumer = getattr(worker, "consumer", None)
        task_consumer = getattr(consumer, "task_consumer", None)
        if task_consumer is None:
            return
        try:
            task_consumer.cancel()
        except Exception:
            logger.exception("poolkit: could not stop consuming; recycling anyway")

    def stop() -> None:
        hub = getattr(worker, "hub", None)
        if hub is not None:
            hub.call_soon(cancel)
        else:
            cancel()

    return stop


def loop_stopper(worker: Any) -> Callable[[], bool]:
    """:func:`consumer_stopper` where the worker has an event loop (its hub), else
    nothing: False. Cancelling from another thread than the consumer's is safe only
    when the loop is stopped next (the stuck-thread path)."""
    stop = consumer_stopper(worker)

    def stop_in_loop() -> bool:
        if getattr(worker, "hub", None) is None:
            return False
        stop()
        return True

    return stop_in_loop


def fetch_settler(worker: Any) -> Callable[[], bool]:
    """True when the worker's task channel has no fetch awaiting its reply.

    kombu's Redis channel marks a BRPOP sent and not yet read with ``_in_poll`` (read
    only; other transports have no such fetch: always True)."""

    def settled() -> bool:
        consumer = getattr(worker, "consumer", None)
        channel = getattr(getattr(consumer, "task_consumer", None), "channel", None)
        return not getattr(channel, "_in_poll", None)

    return settled


def write_handover(target: str = "") -> str:
    """Side effect: the revoked task ids and the logical clock of this worker, in a private
    temporary file (or ``target``, replaced atomically: the keeper's directory under
    ``--poolkit-recycle=fork``) for the process that replaces it; its path, or "" when it
    failed."""
    try:
        from celery import current_app
        from celery.worker import state

        data = {"revoked": [str(i) for i in list(state.revoked)],
                "clock": int(current_app.clock.value)}  # fmt: skip
        directory = os.path.dirname(target) if target else None
        fd, path = tempfile.mkstemp(prefix="poolkit-handover-", suffix=".json", dir=directory)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
        if target:
            os.replace(path, target)
            path = target
    except Exception:
        logger.exception("poolkit: could not hand the revoked task ids to the replacement")
        return ""
    return path


def take_handover(environ: MutableMapping[str, str] | None = None) -> tuple[list[str], int]:
    """The predecessor's revoked ids and clock (see :func:`write_handover`); the file is
    removed. Anything unreadable, too big or of the wrong shape gives ``([], 0)``."""
    path = (os.environ if environ is None else environ).pop(HANDOVER_ENV, "")
    if not path:
        return [], 0
    try:
        with open(path, "rb") as source:
            raw = source.read(HANDOVER_MAX_BYTES + 1)
        if len(raw) > HANDOVER_MAX_BYTES:
            raise ValueError(f"more than {HANDOVER_MAX_BYTES} bytes")
        data = json.loads(raw)
        revoked = data["revoked"]
        clock = data["clock"]
        if not (isinstance(revoked, list) and all(isinstance(i, str) for i in revoked)):
            raise ValueError("'revoked' is not a list of task ids")
        if isinstance(clock, bool) or not isinstance(clock, int):
            raise ValueError("'clock' is not an integer")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.error("poolkit: ignoring the predecessor's handover %s: %s", path, exc)
        return [], 0
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return revoked, clock


def handover_path(environ: dict[str, str] | None = None) -> str:
    """Where a child under a keeper writes its handover ("" when not under one)."""
    directory = (os.environ if environ is None else environ).get(FORK_DIR_ENV, "")
    return os.path.join(directory, HANDOVER_NAME) if directory else ""


def carried_keys() -> tuple[str, ...]:
    from celery_poolkit.worker.limit_events import CARRIED_ENV

    return (CARRIED_ENV,)


def write_carried(directory: str) -> None:
    """Side effect: this process's carried environment variables (:func:`carried_keys`)
    in the keeper's ``directory``, for the next child. Never raises: a recycle goes on."""
    values = {k: os.environ[k] for k in carried_keys() if k in os.environ}
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".environ-")
        with os.fdopen(fd, "w") as out:
            json.dump(values, out)
        os.replace(tmp, os.path.join(directory, CARRIED_NAME))
    except (OSError, TypeError, ValueError):
        logger.exception("poolkit: could not hand the limit counts to the replacement")


def take_carried(directory: str) -> dict[str, str]:
    """The variables a recycled child left in ``directory`` (the file is removed);
    anything too big, unreadable or not a string-to-string object gives ``{}``."""
    path = os.path.join(directory, CARRIED_NAME)
    try:
        with open(path, "rb") as source:
            raw = source.read(CARRIED_MAX_BYTES + 1)
        os.unlink(path)
        data = json.loads(raw) if len(raw) <= CARRIED_MAX_BYTES else {}
    except (OSError, ValueError):
        return {}
    keys = carried_keys()
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in keys and isinstance(v, str)}
