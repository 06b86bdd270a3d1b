"""Task time limits and per-process recycling on threads, gevent and solo.

Celery enforces ``soft_time_limit``/``time_limit`` and ``worker_max_tasks_per_child``/
``worker_max_memory_per_child`` only on prefork (gevent: a cooperative hard limit). Here:

* **soft limit**, threads: a watchdog thread raises ``SoftTimeLimitExceeded`` in the
  task's thread with ``PyThreadState_SetAsyncExc``. CPython delivers an asynchronous
  exception at the next bytecode, so a task blocked in a C call (``time.sleep``, a socket
  read) gets it when that call returns. Solo runs its tasks in the main thread, so there
  it is what prefork's child does: a signal (:data:`SOFT_SIGNAL`) whose handler raises it;
  the signal also interrupts a blocking ``sleep``/``recv``. On gevent: thrown into the
  task's greenlet.
* **hard limit**, threads and solo: a thread cannot be killed, so the task is failed the
  way prefork fails it (``Request.on_timeout``: ``TimeLimitExceeded`` stored, the message
  acked or rejected per ``acks_late``/``acks_on_failure_or_timeout``), and the worker
  recycles (:mod:`celery_poolkit.worker.recycle`). On gevent Celery's own cooperative hard
  limit stays; poolkit adds the non-cooperative fallback: a task greenlet that has held
  the hub since before its hard deadline gets ``TimeLimitExceeded`` as an asynchronous
  exception in the hub's thread.
* **recycling**: after each task, ``max_tasks_per_child`` and ``max_memory_per_child``
  (resident KiB) are checked, and the worker recycles when one is reached.

Prefork is left alone: Celery's own limits hold there.
"""

from __future__ import annotations

import contextlib
import ctypes
import heapq
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from celery import signals
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from celery_poolkit.model import Pool
from celery_poolkit.worker.recycle import (
    HANDOFF_MEMORY,
    Recycler,
    original_lock,
    resident_kib,
    start_thread,
)

logger = logging.getLogger("celery_poolkit")

#: The pools whose limits poolkit enforces (prefork: Celery does; eventlet: not yet).
POOLS = (Pool.THREADS, Pool.SOLO, Pool.GEVENT)
#: solo: the signal that interrupts the main thread's blocking call at the soft limit.
#: Celery's worker leaves SIGALRM alone (its main process keeps SIGUSR1, which prefork's
#: children use for this, for its stack dump); a task that sets its own handler for it
#: gets the asynchronous exception instead.
SOFT_SIGNAL: signal.Signals | None = getattr(signal, "SIGALRM", None)
#: How often the gevent fallback looks again at a task past its hard limit that still runs.
RECHECK = 0.1


@dataclass(frozen=True, slots=True)
class Limits:
    """A task's limits in seconds; None: no limit."""

    soft: float | None = None
    hard: float | None = None

    def __bool__(self) -> bool:
        return self.soft is not None or self.hard is not None


@dataclass(frozen=True, slots=True)
class Enforced:
    """What poolkit enforces on a worker's pool, for the start-up log."""

    soft: bool
    hard: str  # "recycle", "cooperative + fallback", "" (not by poolkit)
    recycling: bool

    def describe(self) -> str:
        parts = []
        if self.soft:
            parts.append("soft_time_limit")
        if self.hard:
            parts.append(f"time_limit ({self.hard})")
        if self.recycling:
            parts.append("max_tasks_per_child, max_memory_per_child")
        return ", ".join(parts)


def enforced_on(pool: Pool | None) -> Enforced | None:
    """What :class:`LimitEnforcer` does on ``pool``; None: nothing (Celery's own limits)."""
    if pool in (Pool.THREADS, Pool.SOLO):
        return Enforced(soft=True, hard="fails the task, recycles the worker", recycling=True)
    if pool is Pool.GEVENT:
        return Enforced(soft=True, hard="non-cooperative fallback", recycling=True)
    return None


def _seconds(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def task_limits(task: Any, default: Limits) -> Limits:
    """A task's limits as Celery's ``Request`` resolves them for prefork: the message's
    ``timelimit`` header (``apply_async(time_limit=…, soft_time_limit=…)``), then the
    task's options, then the worker's defaults (``--time-limit``/``task_time_limit``)."""
    header = getattr(getattr(task, "request", None), "timelimit", None) or (None, None)
    hard, soft = (*tuple(header), None, None)[:2]
    return Limits(
        soft=_seconds(soft) or _seconds(getattr(task, "soft_time_limit", None)) or default.soft,
        hard=_seconds(hard) or _seconds(getattr(task, "time_limit", None)) or default.hard,
    )


def async_raise(thread_id: int, exc: type[BaseException]) -> bool:
    """Side effect: raise ``exc`` in thread ``thread_id`` at its next bytecode."""
    done = int(
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc))
    )
    if done > 1:  # more than one thread state: undo, as the C API documents
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)
        return False
    return done == 1


class _SoftSignal:
    """solo: the soft limit as a signal to the main thread, where the task runs."""

    def __init__(self, running: dict[str, Any]) -> None:
        self.running = running
        self.target: str | None = None
        self.installed = False

    def install(self) -> None:
        """In the main thread (solo's prerun), once; not over a handler someone else set."""
        if self.installed or SOFT_SIGNAL is None:
            return
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(SOFT_SIGNAL) not in (signal.SIG_DFL, None):
            return
        signal.signal(SOFT_SIGNAL, self._handle)
        self.installed = True

    def _handle(self, signum: int, frame: Any) -> None:
        # In the main thread between two bytecodes, or in a C call that got EINTR: no
        # lock here (the interrupted code may hold it); the dict lookup is atomic.
        target, self.target = self.target, None
        if target is not None and target in self.running:
            raise SoftTimeLimitExceeded()

    def send(self, task_id: str, thread_id: int) -> bool:
        """From the watchdog; False when the handler is not ours (then: async exception)."""
        if not self.installed or SOFT_SIGNAL is None:
            return False
        if signal.getsignal(SOFT_SIGNAL) != self._handle:
            return False
        self.target = task_id
        signal.pthread_kill(thread_id, SOFT_SIGNAL)
        return True


@dataclass
class _Running:
    """One task with a limit: where it runs and when its limits fall due."""

    task_id: str
    name: str
    limits: Limits
    started: float
    thread_id: int
    greenlet: Any = None
    soft_timer: Any = None  # gevent.Timeout
    soft_sent: bool = False
    hard_done: bool = False


@dataclass
class LimitEnforcer:
    """The per-task limits and the recycling checks of one worker process."""

    pool: Pool
    default: Limits
    recycler: Recycler
    max_tasks: int | None = None
    max_memory_kib: int | None = None
    clock: Any = None  # the gevent SwitchClock: which greenlet holds the hub, since when
    hub: Any = None
    hub_thread: int | None = None
    done: int = 0
    running: dict[str, _Running] = field(default_factory=dict)
    _heap: list[tuple[float, int, str]] = field(default_factory=list)
    _seq: int = 0
    _lock: Any = field(default_factory=original_lock)
    _wake: Any = field(default_factory=original_lock)
    _next: float = float("inf")
    _started: bool = False
    _stopping: bool = False
    #: (task name, "soft" | "hard") for the limits Celery's Request.on_timeout does not
    #: see: set by the metrics (celery_poolkit.worker.limit_events).
    on_limit: Any = None
    _signal: _SoftSignal | None = None

    @classmethod
    def create(cls, worker: Any, pool: Pool, recycler: Recycler) -> LimitEnforcer:
        return cls(
            pool=pool,
            default=Limits(
                soft=_seconds(getattr(worker, "soft_time_limit", None)),
                hard=_seconds(getattr(worker, "time_limit", None)),
            ),
            recycler=recycler,
            max_tasks=int(getattr(worker, "max_tasks_per_child", 0) or 0) or None,
            max_memory_kib=int(getattr(worker, "max_memory_per_child", 0) or 0) or None,
        )

    def connect(self) -> None:
        """Side effect: connect to Celery's ``task_prerun``/``task_postrun``."""
        signals.task_prerun.connect(
            self.on_prerun, weak=False, dispatch_uid=f"poolkit-limits-pre-{id(self)}"
        )
        signals.task_postrun.connect(
            self.on_postrun, weak=False, dispatch_uid=f"poolkit-limits-post-{id(self)}"
        )

    def disconnect(self) -> None:
        self._stopping = True
        signals.task_prerun.disconnect(dispatch_uid=f"poolkit-limits-pre-{id(self)}")
        signals.task_postrun.disconnect(dispatch_uid=f"poolkit-limits-post-{id(self)}")
        self._poke()

    def watch_hub(self, clock: Any) -> None:
        """gevent: the recorder's switch clock, for the non-cooperative fallback."""
        if self.pool is not Pool.GEVENT or clock is None:
            return
        import gevent

        self.clock = clock
        self.hub = gevent.get_hub()  # get_hub() in another thread would make that thread one
        self.hub_thread = self.hub.thread_ident

    # -- in the task's thread / greenlet ---------------------------------------------

    def on_prerun(self, sender: Any = None, task_id: str = "", task: Any = None, **_: Any) -> None:
        limits = task_limits(task, self.default)
        if not limits:
            return
        now = time.perf_counter()
        entry = _Running(
            task_id=task_id,
            name=getattr(task, "name", "?"),
            limits=limits,
            started=now,
            thread_id=threading.get_ident(),
        )
        watched = True
        if self.pool is Pool.SOLO and limits.soft is not None:
            if self._signal is None:
                self._signal = _SoftSignal(self.running)
            self._signal.install()
        if self.pool is Pool.GEVENT:
            import gevent

            entry.greenlet = gevent.getcurrent()
            if self.hub_thread is None:  # no switch clock: gevent's cooperative timer only
                if limits.soft is not None:
                    entry.soft_timer = gevent.Timeout.start_new(
                        limits.soft, SoftTimeLimitExceeded()
                    )
                watched = False
        due = now + min(x for x in (limits.soft, limits.hard) if x is not None)
        with self._lock:
            self.running[task_id] = entry
            if watched:
                self._push(due, task_id)
        if watched:
            self._start_watchdog()

    def on_postrun(self, sender: Any = None, task_id: str = "", **_: Any) -> None:
        with self._lock:
            entry = self.running.pop(task_id, None)
            self.done += 1
            count = self.done
        if self._signal is not None and self._signal.target == task_id:
            self._signal.target = None  # a late signal raises nothing
        if entry is not None and entry.soft_timer is not None:
            entry.soft_timer.close()
        if self.recycler.requested:
            self._bound_handoff()
            return
        if self.max_tasks and count >= self.max_tasks:
            self.recycler.request(f"max_tasks_per_child={self.max_tasks} reached")
        elif self.max_memory_kib:
            rss = resident_kib()
            if rss > self.max_memory_kib:
                self.recycler.request(
                    f"resident memory {rss} KiB > max_memory_per_child={self.max_memory_kib} KiB"
                )

    def _bound_handoff(self) -> None:
        """A recycling worker that consumes on until its successor does (fork) stops at
        once when its memory passes :data:`HANDOFF_MEMORY` times the limit."""
        limit = self.max_memory_kib
        if limit and not self.recycler.hurried and resident_kib() > limit * HANDOFF_MEMORY:
            self.recycler.hurry()

    # -- the watchdog thread ---------------------------------------------------------

    def _push(self, due: float, task_id: str) -> None:
        # Under self._lock. Wakes the watchdog only when this deadline comes first.
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, task_id))
        if due < self._next:
            self._poke()

    def _poke(self) -> None:
        if self._wake.locked():
            with contextlib.suppress(RuntimeError):  # released by another thread in between
                self._wake.release()

    def _start_watchdog(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        self._wake.acquire()
        start_thread(self._watch, "poolkit-limits")

    def _watch(self) -> None:
        while not self._stopping:
            with self._lock:
                self._next = self._heap[0][0] if self._heap else float("inf")
            delay = self._next - time.perf_counter()
            if delay > 0:
                # Sleeps until the next deadline, or until a nearer one is pushed.
                self._wake.acquire(timeout=min(delay, 60.0))
                continue
            with self._lock:
                _, _, task_id = heapq.heappop(self._heap)
                entry = self.running.get(task_id)
            if entry is not None:
                try:
                    self._due(entry, time.perf_counter())
                except Exception:
                    logger.exception(
                        "poolkit: enforcing the limits of %s[%s] failed", entry.name, entry.task_id
                    )

    def _due(self, entry: _Running, now: float) -> None:
        soft, hard = entry.limits.soft, entry.limits.hard
        if soft is not None and not entry.soft_sent and now >= entry.started + soft:
            entry.soft_sent = True
            self._report(entry.name, "soft")
            logger.warning(
                "poolkit: soft time limit (%gs) exceeded for %s[%s]",
                soft,
                entry.name,
                entry.task_id,
            )
            if self.pool is Pool.GEVENT:
                self._gevent_soft(entry)
            elif self._signal is None or not self._signal.send(entry.task_id, entry.thread_id):
                async_raise(entry.thread_id, SoftTimeLimitExceeded)  # no args, as on prefork
            if hard is not None and hard > soft:
                with self._lock:
                    self._push(entry.started + hard, entry.task_id)
                return
        if hard is None or entry.hard_done or now < entry.started + hard:
            return
        if self.pool is Pool.GEVENT:
            self._gevent_fallback(entry, now)
        else:
            entry.hard_done = True
            self._hard(entry, hard)

    def _report(self, name: str, kind: str) -> None:
        hook = self.on_limit
        if hook is not None:
            try:
                hook(name, kind)
            except Exception:  # the metrics must never stop a limit
                logger.exception("poolkit: counting a time limit failed")

    def _hard(self, entry: _Running, hard: float) -> None:
        """Fail the task as prefork does, then recycle: its thread may never come back."""
        from celery.worker import state

        request = next((r for r in list(state.active_requests) if r.id == entry.task_id), None)
        if request is not None:
            request.on_timeout(soft=False, timeout=hard)
        else:
            logger.error(
                "poolkit: hard time limit (%gs) exceeded for %s[%s]",
                hard,
                entry.name,
                entry.task_id,
            )
        self.recycler.request(
            f"hard time limit of {entry.name}[{entry.task_id}]", stuck=(entry.task_id,)
        )

    def _gevent_soft(self, entry: _Running) -> None:
        """In the task's greenlet: thrown from the hub when the hub runs, or, if the task
        holds the hub (a Python loop never yields), raised in the hub's thread."""
        if self.clock.current is entry.greenlet:
            async_raise(self.hub_thread or 0, SoftTimeLimitExceeded)
            return

        def throw() -> None:  # in the hub
            if entry.task_id in self.running and not entry.greenlet.dead:
                entry.greenlet.throw(SoftTimeLimitExceeded())

        self.hub.loop.run_callback_threadsafe(throw)

    def _gevent_fallback(self, entry: _Running, now: float) -> None:
        """A greenlet that has held the hub since before its hard deadline: gevent's
        cooperative timeout can never fire, so raise in the hub's thread."""
        hard = entry.limits.hard or 0.0
        clock = self.clock
        if clock.current is entry.greenlet and clock.since <= entry.started + hard:
            entry.hard_done = True
            self._report(entry.name, "hard")
            logger.error(
                "poolkit: %s[%s] held the gevent hub past its hard time limit (%gs); "
                "raising TimeLimitExceeded in it",
                entry.name,
                entry.task_id,
                hard,
            )
            async_raise(self.hub_thread or 0, TimeLimitExceeded)
            return
        with self._lock:  # still running, but cooperatively: look again shortly
            if entry.task_id in self.running:
                self._push(now + RECHECK, entry.task_id)
