"""The gevent hub-block monitor and the per-greenlet CPU clock.

gevent's own monitor thread detects a blocked hub: every ``max_blocking_time`` it checks
that some greenlet switch happened, and if not it emits ``EventLoopBlocked``. Its event
is not enough on its own (``shared/research/green-runtime.md`` §2.2): it carries the
*threshold*, not the duration, it repeats every period while the block lasts, and it is
emitted in the monitor thread, where logging (patched locks) is unsafe. So:

* :class:`SwitchClock`, a ``greenlet.settrace`` function, timestamps every switch. It
  gives each task greenlet its CPU time (``time.thread_time`` between switch-in and
  switch-out) and, when a flagged greenlet finally switches out, the block's real length;
* the event subscriber only flags "this greenlet, since this switch" (one flag per
  block, however many events repeat) with the stack where it is stuck;
* a greenlet in the hub drains finished blocks: it logs each once, attributes it to the
  task that was running (name and id, from ``task_prerun``), and counts it.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

from celery_poolkit.profile import Block, Profile

logger = logging.getLogger("celery_poolkit")

STACK_FRAMES = 8  # innermost frames kept per block
DRAIN_PERIOD = 0.2  # seconds between two looks at finished blocks


class SwitchClock:
    """A ``greenlet.settrace`` function: CPU per tracked greenlet, and block lengths.

    Runs on every switch in the hub's thread, so it does the least it can: two clock
    reads, two dict lookups. It chains whatever trace function was installed before
    (gevent's own monitor tracer).
    """

    def __init__(self, previous: Callable[[str, Any], Any] | None = None) -> None:
        self.previous = previous
        self.cpu: dict[Any, float] = {}  # tracked greenlet -> CPU seconds so far
        self.current: Any = None
        self.since = time.perf_counter()
        self.since_cpu = time.thread_time()
        # (greenlet, since, what the monitor knew) flagged by the monitor thread, read
        # and cleared here; (greenlet, seconds, what the monitor knew) once it ended.
        self.blocked: tuple[Any, float, Any] | None = None
        self.ended: deque[tuple[Any, float, Any]] = deque(maxlen=1000)

    def __call__(self, event: str, args: Any) -> None:
        if self.previous is not None:
            self.previous(event, args)
        if event not in ("switch", "throw"):
            return
        origin, target = args
        now = time.perf_counter()
        cpu = self.cpu
        # The CPU clock is read only around tracked (task) greenlets: it costs more than
        # perf_counter, and most switches are between the hub and untracked greenlets.
        if origin in cpu:
            cpu[origin] += time.thread_time() - self.since_cpu
        if target in cpu:
            self.since_cpu = time.thread_time()
        blocked = self.blocked
        if blocked is not None and blocked[0] is origin:
            self.blocked = None
            self.ended.append((origin, now - blocked[1], blocked[2]))
        self.current, self.since = target, now

    def track(self, glet: Any) -> None:
        """Start counting ``glet``'s CPU from now (it must be the running greenlet)."""
        self.cpu[glet] = 0.0
        self.since_cpu = time.thread_time()

    def untrack(self, glet: Any) -> float:
        """Stop counting ``glet`` (the running greenlet); its CPU seconds since track()."""
        return self.cpu.pop(glet, 0.0) + time.thread_time() - self.since_cpu


class HubMonitor:
    """gevent's monitor thread with printing off, reporting through poolkit's log."""

    def __init__(self, threshold: float, profile: Profile, tasks: dict[Any, tuple[str, str]]):
        self.threshold = threshold
        self.profile = profile
        self.tasks = tasks  # greenlet -> (task name, task id), kept by the runtime
        self.clock: SwitchClock | None = None
        self.count = 0
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
            thread = self._hub.start_periodic_monitoring_thread()
        if thread is None:
            logger.warning("poolkit: gevent did not start its monitor thread; monitor off")
            return False
        from gevent import events

        self.clock = clock
        events.subscribers.append(self._on_event)
        self._drain = gevent.spawn(self._drain_loop)
        return True

    def stop(self) -> None:
        from gevent import events

        if self._on_event in events.subscribers:
            events.subscribers.remove(self._on_event)
        if self._drain is not None:
            self._drain.kill(block=False)
            self._drain = None
        self.drain()

    def _on_event(self, event: Any) -> None:
        # In gevent's monitor thread: flag the block, nothing more.
        from gevent.events import EventLoopBlocked

        clock = self.clock
        if clock is None or not isinstance(event, EventLoopBlocked):
            return
        glet, since = clock.current, clock.since
        flagged = clock.blocked
        if flagged is not None and flagged[0] is glet and flagged[1] == since:
            return  # the same block, reported again one period later
        frame = sys._current_frames().get(self._hub.thread_ident)
        stack = tuple(
            f"{f.filename}:{f.lineno} in {f.name}"
            for f in (traceback.extract_stack(frame) if frame is not None else ())
        )[-STACK_FRAMES:]
        # The task is looked up now: by the time the block ends, task_postrun may have
        # forgotten the greenlet.
        clock.blocked = (glet, since, (stack, self.tasks.get(glet)))

    def _drain_loop(self) -> None:
        import gevent

        while True:
            gevent.sleep(DRAIN_PERIOD)
            self.drain()

    def drain(self) -> None:
        clock = self.clock
        while clock is not None and clock.ended:
            glet, seconds, (stack, task) = clock.ended.popleft()
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
