"""The task recorder: the task clock that feeds the per-task profile and the hub monitor.

:meth:`TaskRecorder.create` only reads the worker; the step then calls the methods whose
names say what they change: :meth:`~TaskRecorder.open_prefork_pipe` (a pipe the prefork
children inherit), :meth:`~TaskRecorder.connect_task_signals` (Celery's ``task_prerun`` /
``task_postrun``), :meth:`~TaskRecorder.start` (greenlet trace function, monitor and
reader threads) and :meth:`~TaskRecorder.stop`, which undoes them.

CPU time per task is measured where the task runs, with the clock that isolates it:

* prefork: process CPU (``time.process_time``) in the child, which runs one task at a
  time. The child's numbers reach the parent (where ``poolkit_profile`` answers) as one
  short line each through a pipe opened before the pool forks; a full pipe drops the
  line and counts it rather than ever blocking a task;
* solo: process CPU, in the worker process itself;
* threads: thread CPU (``time.thread_time``) of the pool thread;
* gevent: CPU per greenlet, by switch tracing (:class:`~celery_poolkit.worker.monitor.SwitchClock`).

Wall time excludes the time the task's thread spent runnable but waiting for a CPU that
other processes held (Linux's per-thread ``schedstat``): a CPU-bound task on a busy host
still measures CPU-bound, where its wall-clock share of CPU would make it look like it
waits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from celery import signals

from celery_poolkit.model import Pool
from celery_poolkit.worker.guard import worker_pool
from celery_poolkit.worker.monitor import (
    HubMonitor,
    SwitchClock,
    run_delay_clock,
    thread_run_delay,
)
from celery_poolkit.worker.profile import Profile, WorkerProfile

if TYPE_CHECKING:  # the step imports this module: no import cycle at run time
    from celery_poolkit.worker.step import StepOptions

logger = logging.getLogger("celery_poolkit")

MAX_OPEN = 10_000  # started tasks whose end we have not seen (a lost child, a kill)
READ_PERIOD = 0.2  # seconds between two reads of the prefork children's pipe
PIPE_SIZE = 1 << 20  # ~15k lines: 0.2 s of far more tasks than a parent can dispatch
_NAME_MAX = 200  # keeps a pipe line far below PIPE_BUF, so a write is atomic


@dataclass
class TaskRecorder:
    hostname: str
    pool: Pool | None
    pool_name: str
    concurrency: int
    queues: tuple[str, ...]
    options: StepOptions
    profile: Profile = field(default_factory=Profile)
    # task id -> (name, wall start, cpu start or greenlet, run-queue wait start);
    # bounded by MAX_OPEN
    started: dict[str, tuple[str, float, Any, float]] = field(default_factory=dict)
    greenlets: dict[Any, tuple[str, str]] = field(default_factory=dict)
    clock: SwitchClock | None = None
    monitor: HubMonitor | None = None
    parent_pid: int = field(default_factory=os.getpid)
    pipe: tuple[int, int] | None = None
    reader: threading.Thread | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    #: Told the other lines prefork children send (JSON objects: send_message), in the
    #: reader thread: the metrics' view of the children (celery_poolkit.worker.children).
    listeners: list[Any] = field(default_factory=list)

    @classmethod
    def create(cls, worker: Any, options: StepOptions) -> TaskRecorder:
        """A recorder for ``worker``; reads the worker, changes nothing."""
        pool, name = worker_pool(worker.pool_cls)
        return cls(
            hostname=worker.hostname,
            pool=pool,
            pool_name=name,
            concurrency=int(worker.concurrency or 0),
            queues=tuple(sorted(worker.app.amqp.queues.consume_from)),
            options=options,
        )

    def open_prefork_pipe(self) -> None:
        """Side effect: open the pipe prefork children send their measurements through.

        Must run before the pool forks, so every child inherits the write end.
        """
        if not self.options.profile or self.pool is not Pool.PREFORK:
            return
        read, write = os.pipe()
        os.set_blocking(write, False)
        os.set_blocking(read, False)
        with contextlib.suppress(OSError, AttributeError):  # Linux: room for bursts
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        self.pipe = (read, write)

    def connect_task_signals(self) -> None:
        """Side effect: connect Celery's ``task_prerun``/``task_postrun`` to the recorder
        (disconnected by :meth:`stop`)."""
        if not self.options.profile:
            return
        signals.task_prerun.connect(self.on_prerun, weak=False,
                                    dispatch_uid=f"poolkit-prerun-{id(self)}")  # fmt: skip
        signals.task_postrun.connect(self.on_postrun, weak=False,
                                     dispatch_uid=f"poolkit-postrun-{id(self)}")  # fmt: skip

    @property
    def cpu_clock(self) -> str:
        return {Pool.GEVENT: "greenlet", Pool.THREADS: "thread"}.get(self.pool, "process")  # type: ignore[arg-type]

    def start(self) -> None:
        if self.pool is Pool.GEVENT and (self.options.profile or self.options.monitor):
            import greenlet  # type: ignore[import-untyped,unused-ignore]

            # In the hub's thread: the run-queue wait clock is this thread's.
            self.clock = SwitchClock(run_delay=run_delay_clock() if self.options.monitor else None)
            if self.options.monitor:
                self.monitor = HubMonitor(self.options.block_threshold, self.profile,
                                          self.greenlets)  # fmt: skip
                # gevent's monitor installs its own trace function first; ours chains it.
                if not self.monitor.start(self.clock):
                    self.monitor = None
            self.clock.previous = greenlet.settrace(self.clock)
        if self.pipe is not None:
            self.reader = threading.Thread(target=self._read_children, daemon=True,
                                           name="poolkit-profile-reader")  # fmt: skip
            self.reader.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.monitor is not None:
            self.monitor.stop()
        if self.clock is not None:
            import greenlet  # type: ignore[import-untyped,unused-ignore]

            if greenlet.gettrace() is self.clock:
                greenlet.settrace(self.clock.previous)
        signals.task_prerun.disconnect(dispatch_uid=f"poolkit-prerun-{id(self)}")
        signals.task_postrun.disconnect(dispatch_uid=f"poolkit-postrun-{id(self)}")

    # -- task signals: in the process, thread or greenlet that runs the task ----------

    def _cpu_now(self) -> Any:
        if self.pool is Pool.GEVENT and self.clock is not None:
            import greenlet  # type: ignore[import-untyped,unused-ignore]

            glet = greenlet.getcurrent()
            self.clock.track(glet)
            return glet
        if self.pool is Pool.THREADS:
            return time.thread_time()
        return time.process_time()

    def _waited(self) -> float:
        """Seconds this thread has waited for a CPU (0.0 where it cannot be read)."""
        clock = self.clock.run_delay if self.clock is not None else None
        return clock() if clock is not None else thread_run_delay()

    def on_prerun(self, sender: Any = None, task_id: str = "", task: Any = None,
                  **kwargs: Any) -> None:  # fmt: skip
        name = getattr(task, "name", None) or str(sender)
        if len(self.started) >= MAX_OPEN:
            self.started.pop(next(iter(self.started)), None)
        marker = self._cpu_now()
        self.started[task_id] = (name, time.perf_counter(), marker, self._waited())
        if self.pool is Pool.GEVENT:
            self.greenlets[marker] = (name, task_id)

    def on_postrun(self, sender: Any = None, task_id: str = "", state: str | None = None,
                   **kwargs: Any) -> None:  # fmt: skip
        entry = self.started.pop(task_id, None)
        if entry is None:
            return
        name, wall_start, marker, waited = entry
        wall = max(0.0, time.perf_counter() - wall_start - (self._waited() - waited))
        if self.pool is Pool.GEVENT and self.clock is not None:
            task = self.greenlets.pop(marker, None)
            if task is not None:
                self.clock.task_ended(marker, task)
            cpu = self.clock.untrack(marker)
        elif self.pool is Pool.THREADS:
            cpu = time.thread_time() - marker
        else:
            cpu = time.process_time() - marker
        # Never less than the CPU it burned: on gevent the wait clock also counts the
        # monitor thread's waits, and when both threads wait at once their sum
        # over-counts (at load 25 a CPU-bound run measured 0 s, its CPU share inf).
        wall = max(wall, cpu)
        failed = state == "FAILURE"
        if self.pipe is not None and os.getpid() != self.parent_pid:
            self._send(name, wall, cpu, failed)
        else:
            self.profile.add(name, wall, cpu, failed)

    # -- prefork: children -> parent ---------------------------------------------------

    def _send(self, name: str, wall: float, cpu: float, failed: bool) -> None:
        assert self.pipe is not None
        # The child's count of samples it could not send rides on the next line that
        # gets through, so the parent's profile says how many it is missing.
        unsent = self.profile.dropped
        line = json.dumps([name[:_NAME_MAX], wall, cpu, failed, unsent]).encode() + b"\n"
        try:
            os.write(self.pipe[1], line)
        except BlockingIOError:  # the parent is behind: lose a sample, never a task
            self.profile.dropped += 1
        else:
            self.profile.dropped = 0

    def send_message(self, message: dict[str, Any]) -> bool:
        """In a prefork child: one JSON object to the main process's listeners; False if
        the pipe is full (the message is lost, nothing waits) or there is none."""
        if self.pipe is None:
            return False
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        if len(line) > 4000:  # above PIPE_BUF a write is not atomic: never send it
            return False
        try:
            os.write(self.pipe[1], line)
        except (BlockingIOError, OSError):
            return False
        return True

    def _read_children(self) -> None:
        # Polls a few times a second instead of waking per line: the prefork parent's
        # main thread moves every message, and a reader thread that wanted the GIL after
        # each task would slow it down (measured: benchmarks/bootstep_overhead.py).
        assert self.pipe is not None
        fd, rest = self.pipe[0], b""
        while not self.stopping.wait(READ_PERIOD):
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    break
                if not chunk:
                    return
                *lines, rest = (rest + chunk).split(b"\n")
                for line in lines:
                    with contextlib.suppress(ValueError, TypeError):
                        data = json.loads(line)
                        if isinstance(data, dict):
                            self._tell(data)
                            continue
                        name, wall, cpu, failed, unsent = data
                        self.profile.add(str(name), float(wall), float(cpu), bool(failed))
                        self.profile.dropped += int(unsent)

    def _tell(self, message: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(message)
            except Exception:  # a listener's bug must not stop the profile's reader
                logger.exception("poolkit: a prefork child's message could not be read")

    def snapshot(self) -> WorkerProfile:
        return WorkerProfile(
            hostname=self.hostname,
            pool=self.pool.value if self.pool else self.pool_name,
            concurrency=self.concurrency,
            queues=self.queues,
            cpu_clock=self.cpu_clock,
            since=self.profile.since,
            tasks=self.profile.tasks(),
            blocks=self.profile.blocks,
            recent_blocks=tuple(self.profile.recent),
            dropped=self.profile.dropped,
        )
