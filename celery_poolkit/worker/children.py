"""prefork: what the children tell the main process besides their task runs (issue 14).

A prefork child's connection pools (:mod:`celery_poolkit.greendb`) live in the child, and
the metrics are served by the main process. So each child reports, through the pipe the
profile already uses (:meth:`~celery_poolkit.worker.recorder.TaskRecorder.send_message`),
no set-up needed:

* every :data:`REPORT_PERIOD` seconds, from a thread of its own, the state of its pools
  (only once it has one);
* when it exits, that it is gone, and, when billiard recycled it (``EX_RECYCLE``),
  whether ``max_memory_per_child`` or ``max_tasks_per_child`` did.

:class:`ChildReports`, in the main process, keeps the last report of each live child and
sums them by pool name at scrape time. A child that is gone -- it said so, or it was
killed (a hard time limit) and is no longer this process's child -- is dropped: its
gauges vanish, and its counters (checkout timeouts, discarded connections) are kept in
a retired total, so the summed counters never go back.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from celery import signals

# Imported here, never inside a function: the exporters' threads read the pools while
# billiard forks children, and a child forked while another thread held this module's
# import lock deadlocked in its exit hook (a lazy import in PoolRows), hanging the
# worker's warm shutdown.
from celery_poolkit.greendb.connection_pool import live_pools
from celery_poolkit.worker.recycle import start_thread

REPORT_PERIOD = 1.0  # seconds between two reports of a child's pools
MAX_POOLS = 20  # pools per report: a line stays far below PIPE_BUF
_NAME_MAX = 100
GONE_FOR = 60.0  # seconds a gone child's late lines are ignored (then its pid may be reused)
EX_RECYCLE = 0x9B  # billiard.pool.EX_RECYCLE: max tasks or max memory reached
#: A pool's fields in a report, in order.
FIELDS = ("max_size", "size", "in_use", "waiting", "timeouts", "discarded")
COUNTERS = ("timeouts", "discarded")

Send = Callable[[dict[str, Any]], bool]


class PoolRows:
    """This process's live connection pools as report rows, ``[name, *FIELDS]`` each,
    summed by name. A pool that is gone (Celery's Django fixup closes the Django pool
    after every prefork task; the next query builds a new one) leaves its counters in a
    retired total, so a child's counters never go back either."""

    def __init__(self) -> None:
        self.last: dict[int, tuple[str, int, int]] = {}  # id(pool) -> name, counters
        self.retired: dict[str, list[int]] = {}

    def __call__(self) -> list[list[Any]]:
        totals: dict[str, list[int]] = {}
        seen: dict[int, tuple[str, int, int]] = {}
        for pool in live_pools()[:MAX_POOLS]:
            stats = pool.stats()
            name = stats.name[:_NAME_MAX]
            row = totals.setdefault(name, [0] * len(FIELDS))
            for i, key in enumerate(FIELDS):
                row[i] += int(getattr(stats, key))
            seen[id(pool)] = (name, stats.timeouts, stats.discarded)
        for pool_id, (name, timeouts, discarded) in self.last.items():
            now = seen.get(pool_id)
            if now is None or now[0] != name or now[1] < timeouts or now[2] < discarded:
                kept = self.retired.setdefault(name, [0, 0])  # gone (or a new pool, same id)
                kept[0] += timeouts
                kept[1] += discarded
        self.last = seen
        for name, (timeouts, discarded) in self.retired.items():
            row = totals.setdefault(name, [0] * len(FIELDS))
            row[FIELDS.index("timeouts")] += timeouts
            row[FIELDS.index("discarded")] += discarded
        return [[name, *row] for name, row in sorted(totals.items())][:MAX_POOLS]


# -- in the child ----------------------------------------------------------------------


class ChildReporter:
    """Connected in the main process before the pool forks; runs in each child."""

    def __init__(self, send: Send, max_memory_kib: int | None) -> None:
        self.send = send
        self.max_memory_kib = max_memory_kib
        self.parent = os.getpid()
        self.stopping = threading.Event()
        self.rows = PoolRows()
        self.rows_lock = threading.Lock()  # the report thread and the exit both read

    def pool_rows(self) -> list[list[Any]]:
        with self.rows_lock:
            return self.rows()

    def connect(self) -> None:
        signals.worker_process_init.connect(self.on_init, weak=False,
                                            dispatch_uid=f"poolkit-child-{id(self)}")  # fmt: skip
        signals.worker_process_shutdown.connect(
            self.on_exit, weak=False, dispatch_uid=f"poolkit-child-exit-{id(self)}"
        )

    def disconnect(self) -> None:
        signals.worker_process_init.disconnect(dispatch_uid=f"poolkit-child-{id(self)}")
        signals.worker_process_shutdown.disconnect(dispatch_uid=f"poolkit-child-exit-{id(self)}")

    def on_init(self, **_: Any) -> None:
        if os.getpid() != self.parent:
            start_thread(self._report_loop, "poolkit-child-pools")

    def _report_loop(self) -> None:
        reported = False
        while not self.stopping.wait(REPORT_PERIOD):
            with contextlib.suppress(Exception):  # a report lost, never a task
                rows = self.pool_rows()
                if rows or reported:
                    reported = self.send({"pid": os.getpid(), "pools": rows}) or reported

    def on_exit(self, pid: int | None = None, exitcode: int | None = None, **_: Any) -> None:
        if os.getpid() == self.parent:
            return
        self.stopping.set()
        message: dict[str, Any] = {"pid": os.getpid(), "gone": True}
        if exitcode == EX_RECYCLE:
            message["recycle"] = "memory" if self._over_memory() else "tasks"
        with contextlib.suppress(Exception):
            message["pools"] = self.pool_rows()  # the last counters
        self.send(message)

    def _over_memory(self) -> bool:
        if not self.max_memory_kib:
            return False
        try:  # billiard's own measure of max_memory_per_child
            from billiard.compat import mem_rss  # type: ignore[import-untyped,unused-ignore]

            return int(mem_rss()) > self.max_memory_kib
        except Exception:
            return False


# -- in the main process ---------------------------------------------------------------


def _alive_child(pid: int, parent: int) -> bool:
    """``pid`` is a running (not zombie) child of ``parent`` (Linux /proc; elsewhere: the
    child's own goodbye is the only sign)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        return True
    return fields[0] != b"Z" and int(fields[1]) == parent


class ChildReports:
    """The children's last reports, in the main process (fed by the recorder's reader)."""

    def __init__(self, on_recycle: Callable[[str], None] | None = None,
                 alive: Callable[[int, int], bool] = _alive_child) -> None:  # fmt: skip
        self.on_recycle = on_recycle
        self.alive = alive
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.children: dict[int, tuple[list[list[Any]], float]] = {}
        self.retired: dict[str, dict[str, int]] = {}  # gone children's counters, by pool
        # pid -> when it was found gone: its late lines (a report in flight, a goodbye
        # read after /proc showed it gone) must not count it again. Bounded in time.
        self.gone: dict[int, float] = {}

    def message(self, message: dict[str, Any]) -> None:
        """One line a child sent; a malformed one is ignored."""
        pid = message.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            return
        pools = message.get("pools")
        rows = [r for r in pools if _row_ok(r)][:MAX_POOLS] if isinstance(pools, list) else []
        now = time.monotonic()
        with self.lock:
            if pid in self.gone:
                return
            if message.get("gone"):
                last = rows or self.children.get(pid, ([], 0.0))[0]
                self.children.pop(pid, None)
                self._retire(pid, last, now)
            elif len(self.children) < 1000 or pid in self.children:
                self.children[pid] = (rows, now)
        reason = message.get("recycle")
        if message.get("gone") and reason in ("tasks", "memory") and self.on_recycle:
            self.on_recycle(reason)

    def _retire(self, pid: int, rows: list[list[Any]], now: float) -> None:
        self.gone = {p: t for p, t in self.gone.items() if now - t < GONE_FOR}
        self.gone[pid] = now
        for row in rows:
            totals = self.retired.setdefault(row[0], dict.fromkeys(COUNTERS, 0))
            for key in COUNTERS:
                totals[key] += row[1 + FIELDS.index(key)]

    def pools(self) -> Iterator[tuple[str, dict[str, int]]]:
        """The live children's pools plus the retired counters, summed by pool name."""
        with self.lock:
            now = time.monotonic()
            for pid in [p for p in self.children if not self.alive(p, self.pid)]:
                self._retire(pid, self.children.pop(pid)[0], now)
            totals: dict[str, dict[str, int]] = {}
            for name, counters in self.retired.items():
                totals[name] = {**dict.fromkeys(FIELDS, 0), **counters}
            for rows, _ in self.children.values():
                for row in rows:
                    total = totals.setdefault(row[0], dict.fromkeys(FIELDS, 0))
                    for key, value in zip(FIELDS, row[1:], strict=True):
                        total[key] += value
        yield from sorted(totals.items())


def pool_totals(children: ChildReports | None = None) -> dict[str, dict[str, int]]:
    """Pool name -> its :data:`FIELDS`: poolkit's connection pools alive in this process
    and, under prefork, the live children's as they last reported them, summed by name
    (two pools may share one: each child's, a rebuilt one). What every exporter reads."""
    totals: dict[str, dict[str, int]] = {}
    for pool in live_pools():
        stats = pool.stats()
        row = totals.setdefault(stats.name, dict.fromkeys(FIELDS, 0))
        for key in FIELDS:
            row[key] += getattr(stats, key)
    for name, reported in children.pools() if children is not None else ():
        row = totals.setdefault(name, dict.fromkeys(FIELDS, 0))
        for key in FIELDS:
            row[key] += reported[key]
    return totals


def _row_ok(row: Any) -> bool:
    return (
        isinstance(row, list)
        and len(row) == 1 + len(FIELDS)
        and isinstance(row[0], str)
        and len(row[0]) <= _NAME_MAX
        and all(_count(v) for v in row[1:])
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12


def attach(recorder: Any, worker: Any, on_recycle: Callable[[str], None]
           ) -> tuple[ChildReporter, ChildReports] | None:  # fmt: skip
    """Side effects, under prefork with the profile's pipe: the children report to the
    main process (connected before the pool forks), and the recorder's reader hands their
    lines to the returned :class:`ChildReports`. None on the other pools."""
    if recorder is None or recorder.pipe is None:
        return None
    reports = ChildReports(on_recycle)
    recorder.listeners.append(reports.message)
    max_memory = int(getattr(worker, "max_memory_per_child", 0) or 0) or None
    reporter = ChildReporter(recorder.send_message, max_memory)
    reporter.connect()
    return reporter, reports
