"""The gevent hub-block monitor and the per-greenlet CPU clock.

gevent's own monitor thread detects a blocked hub: every ``max_blocking_time`` it checks
that some greenlet switch happened, and if not it emits ``EventLoopBlocked``. Its event
is not enough on its own (``shared/research/green-runtime.md`` §2.2): it carries the
*threshold*, not the duration, it repeats every period while the block lasts, and it is
emitted in the monitor thread, where logging (patched locks) is unsafe. So:

* :class:`SwitchClock`, a ``greenlet.settrace`` function, timestamps every switch. It
  gives each task greenlet its CPU time (``time.thread_time`` between switch-in and
  switch-out), and a greenlet that held the thread for the threshold or longer is a
  block, of exactly that length: one block, one record, whatever gevent repeated. On a
  busy host the thread also waits for a CPU that other processes hold: wall time passes
  while nobody in this process runs. That wait (Linux's per-thread ``schedstat``) is
  taken off the slice first, so a busy machine never makes a block;
* gevent's event, while the block lasts, supplies what only the monitor thread can see:
  the stack where the greenlet is stuck. Its subscriber only attaches that stack to
  "this greenlet, since this switch";
* a greenlet in the hub drains finished blocks: it logs each once, attributes it to the
  task that was running (name and id, from ``task_prerun``), and counts it.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from celery_poolkit.worker.profile import Block, Profile

logger = logging.getLogger("celery_poolkit")

STACK_FRAMES = 8  # innermost frames kept per block
DRAIN_PERIOD = 0.2  # seconds between two looks at finished blocks
WAIT_SAMPLES = 8  # run-queue wait samples per threshold (see SwitchClock)
_SCHEDSTAT = "/proc/thread-self/schedstat"  # Linux: this thread's CPU, run-queue wait, slices


def run_delay_clock(threads: Iterable[int] = ()) -> Callable[[], float] | None:
    """Seconds the calling thread has spent runnable but waiting for a CPU, or None.

    Linux's ``/proc/thread-self/schedstat`` (second field, nanoseconds), read through a
    descriptor opened here, so the clock stays the calling thread's wherever it is read.
    The kernel adds a wait when the thread gets a CPU back, so a running thread reads
    every wait it has had. ``threads`` (native ids of this process's threads) are added:
    while one of them waits for a CPU to take the GIL this thread handed it, this
    thread waits too (gevent's monitor thread, every period). None where the file does
    not exist (not Linux, no schedstat).
    """
    paths = [_SCHEDSTAT, *(f"/proc/self/task/{tid}/schedstat" for tid in threads)]
    fds: list[int] = []
    try:
        for path in paths:
            fds.append(os.open(path, os.O_RDONLY))
    except OSError:
        for fd in fds:
            os.close(fd)
        return None

    def read() -> float:
        return sum(int(os.pread(fd, 128, 0).split()[1]) for fd in fds) / 1e9

    try:
        read()
    except (OSError, ValueError, IndexError):
        for fd in fds:
            os.close(fd)
        return None
    return read


def _threads() -> set[int]:
    """Native ids of this process's threads (empty where /proc is not there)."""
    try:
        return {int(name) for name in os.listdir("/proc/self/task")}
    except (OSError, ValueError):
        return set()


def thread_run_delay() -> float:
    """:func:`run_delay_clock`'s reading for the calling thread, opened each time (pool
    threads and prefork children read it twice per task); 0.0 where it does not exist."""
    try:
        with open(_SCHEDSTAT, "rb", buffering=0) as f:
            return int(f.read(128).split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def real_get_ident() -> Callable[[], int]:
    """The OS thread's ``get_ident``, also under gevent's monkey-patching (whose
    ``threading.get_ident`` names the greenlet)."""
    if "gevent" in sys.modules:
        from gevent.monkey import get_original

        return get_original("_thread", "get_ident")  # type: ignore[no-any-return]
    import _thread

    return _thread.get_ident


class SwitchClock:
    """A ``greenlet.settrace`` function: CPU per tracked greenlet, and block lengths.

    Runs on every switch in the hub's thread, so it does the least it can: two clock
    reads, a dict lookup, a comparison. It chains whatever trace function was installed
    before (gevent's own monitor tracer).

    ``run_delay`` (:func:`run_delay_clock`, made in the hub's thread) tells a block from
    starvation: a slice whose wall time, less the time the thread waited for a CPU, is
    under the threshold was other processes' doing. The wait is sampled at most
    :data:`WAIT_SAMPLES` times per threshold (a file read), so a slice's wait is counted
    from at most ``threshold / WAIT_SAMPLES`` before it began: a slice within that margin
    of the threshold on a host that was busy just before is not reported.
    """

    def __init__(
        self,
        previous: Callable[[str, Any], Any] | None = None,
        run_delay: Callable[[], float] | None = None,
    ) -> None:
        self.previous = previous
        self.run_delay = run_delay
        self.waited_at = float("-inf")  # perf_counter() of the last run_delay sample
        self.waited = 0.0  # run_delay() then
        self.starved = 0  # slices over the threshold that were the host's, not a block
        self.cpu: dict[Any, float] = {}  # tracked greenlet -> CPU seconds so far
        self.current: Any = None
        self.since = time.perf_counter()
        self.since_cpu = time.thread_time()
        # Set by HubMonitor.start; until then no slice is long enough to be a block.
        self.threshold = float("inf")
        self.hub: Any = None  # the hub's own slices are its idle waits, never blocks
        self.tasks: dict[Any, tuple[str, str]] = {}  # greenlet -> (task name, task id)
        # Tasks that ended in the slice still running: a task that never yields (no
        # result backend to write to, say) has its task_postrun before the switch that
        # measures its block. Cleared at that greenlet's next switch.
        self.finished: dict[Any, tuple[str, str]] = {}
        # (greenlet, since, stack) attached by the monitor thread while a block lasts;
        # (greenlet, seconds, stack, task) once it ended, for the drain greenlet.
        self.stuck: tuple[Any, float, tuple[str, ...]] | None = None
        self.ended: deque[tuple[Any, float, tuple[str, ...], tuple[str, str] | None]] = deque(
            maxlen=1000
        )
        # Garbage collections in the hub's thread (``gc.callbacks``, :meth:`on_gc`, set
        # up by HubMonitor.start): a full collection that runs inside a task's greenlet
        # stops the hub, but it is the interpreter's pause, not the task's block. A slice
        # is a block only if it is one without them; else it is a GC pause:
        # (greenlet, slice seconds, GC seconds, oldest generation, task).
        self.gc_thread: int | None = None
        self.get_ident = real_get_ident()  # on_gc runs at every collection: resolved once
        self.gc_seconds = 0.0  # GC wall time in the hub's thread, in all
        self.gc_cpu = 0.0  # and its CPU time: each is taken off its own clock's slice
        self.gc_generation = -1  # the oldest generation collected in the current slice
        self._gc_started = (0.0, 0.0)
        self._gc_before = (0.0, 0.0)  # (gc_seconds, gc_cpu) when the current slice began
        self.gc_pauses: deque[tuple[Any, float, float, int, tuple[str, str] | None]] = deque(
            maxlen=1000
        )

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        """A ``gc.callbacks`` function: times the collections of the hub's thread."""
        if self.gc_thread is None or self.get_ident() != self.gc_thread:
            return
        if phase == "start":
            self._gc_started = (time.perf_counter(), time.thread_time())
        elif self._gc_started[0]:
            wall, cpu = self._gc_started
            self.gc_seconds += time.perf_counter() - wall
            self.gc_cpu += time.thread_time() - cpu
            self._gc_started = (0.0, 0.0)
            self.gc_generation = max(self.gc_generation, int(info.get("generation", 0)))

    def __call__(self, event: str, args: Any) -> None:
        if self.previous is not None:
            self.previous(event, args)
        if event not in ("switch", "throw"):
            return
        origin, target = args
        now, now_cpu = time.perf_counter(), time.thread_time()
        held, held_cpu = now - self.since, now_cpu - self.since_cpu
        if origin in self.cpu:
            self.cpu[origin] += held_cpu
        finished = self.finished.pop(origin, None) if self.finished else None
        if held >= self.threshold and origin is not self.hub:
            stuck = self.stuck
            seen = stuck is not None and stuck[0] is origin and stuck[1] == self.since
            gc_held = self.gc_seconds - self._gc_before[0]
            gc_cpu = self.gc_cpu - self._gc_before[1]
            task = self.tasks.get(origin) or finished  # now: the greenlet may run another
            if self._is_block(held - gc_held, held_cpu - gc_cpu, seen, now):
                stack = stuck[2] if seen and stuck is not None else ()
                self.ended.append((origin, held, stack, task))
            elif gc_held > 0:
                self.gc_pauses.append((origin, held, gc_held, self.gc_generation, task))
            else:
                self.starved += 1
        elif self.run_delay is not None and now - self.waited_at >= self.threshold / WAIT_SAMPLES:
            self.waited, self.waited_at = self.run_delay(), now
        self.stuck = None
        self._gc_before, self.gc_generation = (self.gc_seconds, self.gc_cpu), -1
        self.current, self.since, self.since_cpu = target, now, now_cpu

    def _is_block(self, held: float, held_cpu: float, seen: bool, now: float) -> bool:
        """A slice of ``held`` seconds (``held_cpu`` of CPU), garbage collection left out."""
        if self.run_delay is not None:
            # What the slice would have lasted on an idle host: its wall time less
            # the time this thread (and the monitor thread it handed the GIL to)
            # waited for a CPU held by other processes, and never less than the CPU
            # it burned (both threads may wait at once: their sum over-counts).
            delay = self.run_delay()
            waited, self.waited, self.waited_at = delay - self.waited, delay, now
            return max(held_cpu, held - waited) >= self.threshold
        # No wait clock: a block burned the threshold in CPU, or gevent's monitor saw it
        # stuck (a blocking call uses no CPU); a long slice with neither is this process
        # being descheduled.
        return held_cpu >= self.threshold or (seen and held >= self.threshold)

    def track(self, glet: Any) -> None:
        """Start counting ``glet``'s CPU from now (it must be the running greenlet)."""
        self.cpu[glet] = self.since_cpu - time.thread_time()

    def task_ended(self, glet: Any, task: tuple[str, str]) -> None:
        """``glet`` (the running greenlet) finished ``task``: a block measured at its
        next switch still belongs to that task."""
        self.finished[glet] = task

    def untrack(self, glet: Any) -> float:
        """Stop counting ``glet`` (the running greenlet); its CPU seconds since track()."""
        return self.cpu.pop(glet, 0.0) + time.thread_time() - self.since_cpu


class HubMonitor:
    """gevent's monitor thread with printing off, reporting through poolkit's log."""

    def __init__(
        self, threshold: float, profile: Profile, tasks: dict[Any, tuple[str, str]]
    ) -> None:
        self.threshold = threshold
        self.profile = profile
        self.tasks = tasks  # greenlet -> (task name, task id), kept by the runtime
        self.clock: SwitchClock | None = None
        self.count = 0
        self.gc_pauses = 0  # slices that were blocks only by garbage collection
        self._hub: Any = None
        self._drain: Any = None

    def start(self, clock: SwitchClock) -> bool:
        """Start monitoring; False (and a warning) when this gevent cannot."""
        import gevent
        from gevent import config

        if not hasattr(config, "print_blocking_reports"):
            logger.warning("poolkit: gevent %s has no print_blocking_reports (needs >= "
                           "25.4.1); hub-block monitor off", gevent.__version__)  # fmt: skip
            return False
        config.print_blocking_reports = False
        config.max_blocking_time = self.threshold
        config.monitor_thread = True
        self._hub = gevent.get_hub()
        with warnings.catch_warnings():
            # "Unable to monitor memory usage. Install psutil.": poolkit watches only
            # blocking, memory is not its business.
            warnings.simplefilter("ignore", RuntimeWarning)
            before = _threads()
            thread = self._hub.start_periodic_monitoring_thread()
        if thread is None:
            logger.warning("poolkit: gevent did not start its monitor thread; monitor off")
            return False
        if clock.run_delay is not None:
            # The monitor thread takes the GIL every period; on a busy host the hub's
            # thread then waits while that thread waits for a CPU. Count both waits.
            clock.run_delay = run_delay_clock(_threads() - before) or clock.run_delay
        from gevent import events

        clock.threshold, clock.hub, clock.tasks = self.threshold, self._hub, self.tasks
        clock.gc_thread = self._hub.thread_ident
        gc.callbacks.append(clock.on_gc)
        self.clock = clock
        events.subscribers.append(self._on_event)
        self._drain = gevent.spawn(self._drain_loop)
        return True

    def stop(self) -> None:
        from gevent import events

        if self._on_event in events.subscribers:
            events.subscribers.remove(self._on_event)
        if self.clock is not None and self.clock.on_gc in gc.callbacks:
            gc.callbacks.remove(self.clock.on_gc)
        if self._drain is not None:
            self._drain.kill(block=False)
            self._drain = None
        self.drain()

    def _on_event(self, event: Any) -> None:
        # In gevent's monitor thread: attach the stack to the running slice, no more.
        from gevent.events import EventLoopBlocked

        clock = self.clock
        if clock is None or not isinstance(event, EventLoopBlocked):
            return
        glet, since = clock.current, clock.since
        if event.greenlet is not glet:
            return  # the block ended while gevent built its report
        stuck = clock.stuck
        if stuck is not None and stuck[0] is glet and stuck[1] == since:
            return  # the same block, reported again one period later
        frame = sys._current_frames().get(self._hub.thread_ident)
        # importlib's frozen frames say nothing about the task (a first call that imports
        # a module would otherwise fill the kept frames with them).
        stack = tuple(
            f"{f.filename}:{f.lineno} in {f.name}"
            for f in (traceback.extract_stack(frame) if frame is not None else ())
            if not f.filename.startswith("<frozen ")
        )[-STACK_FRAMES:]
        clock.stuck = (glet, since, stack)

    def _drain_loop(self) -> None:
        import gevent

        while True:
            gevent.sleep(DRAIN_PERIOD)
            self.drain()

    def drain(self) -> None:
        clock = self.clock
        while clock is not None and clock.gc_pauses:
            glet, seconds, gc_seconds, generation, task = clock.gc_pauses.popleft()
            self.gc_pauses += 1
            where = f"task {task[0]}[{task[1]}]" if task else f"greenlet {repr(glet)[:200]}"
            logger.warning(
                "poolkit: garbage collection (generation %d, %.3fs) paused the gevent hub "
                "for %.3fs in %s; not counted as the task's hub block",
                generation, gc_seconds, seconds, where,
            )  # fmt: skip
        while clock is not None and clock.ended:
            glet, seconds, stack, task = clock.ended.popleft()
            block = Block(
                task=task[0] if task else None,
                task_id=task[1] if task else None,
                greenlet=repr(glet)[:200],
                seconds=round(seconds, 4),
                stack=stack,
                at=time.time(),
            )
            self.count += 1
            self.profile.add_block(block)
            who = f"task {block.task}[{block.task_id}]" if task else f"greenlet {block.greenlet}"
            logger.warning(
                "poolkit: %s blocked the gevent hub for %.3fs (threshold %.3fs); it was at:"
                "\n    %s",
                who,
                seconds,
                self.threshold,
                "\n    ".join(stack) or "(no stack)",
            )
