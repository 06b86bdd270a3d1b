"""Background sampling while a worker runs: peak memory of its process tree and peak
PostgreSQL connections it holds.

RSS is read every :data:`RSS_EVERY` seconds, PSS (which splits pages shared between
prefork's parent and children instead of counting them once per process) every
:data:`PSS_EVERY` seconds because ``smaps_rollup`` is costlier to read. Connections are
``pg_stat_activity`` rows with the bench app's ``application_name``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from poolbench import procfs

RSS_EVERY = 0.05
PSS_EVERY = 0.5
MIB = 1024 * 1024
COUNT_SQL = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'benchapp'"


@dataclass(frozen=True)
class Peaks:
    rss_mib: float
    pss_mib: float
    processes: int
    pg_connections: int


class Sampler:
    """Samples until :meth:`stop`; :meth:`window` gives the peak connections since the
    previous call (one timed batch)."""

    def __init__(self, worker_pid: int, pg_dsn: str | None) -> None:
        self.worker_pid = worker_pid
        self._pg: Any = None
        if pg_dsn is not None:
            import psycopg2

            self._pg = psycopg2.connect(pg_dsn, application_name="poolbench-driver")
            self._pg.autocommit = True
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.rss = self.pss = 0
        self.processes = 0
        self.pg_peak = self._pg_window = 0
        self._thread = threading.Thread(target=self._run, name="poolbench-sampler", daemon=True)
        self._thread.start()

    def _connections(self) -> int:
        if self._pg is None:
            return 0
        with self._pg.cursor() as cur:
            cur.execute(COUNT_SQL)
            return int(cur.fetchone()[0])

    def _run(self) -> None:
        ticks_per_pss = max(1, round(PSS_EVERY / RSS_EVERY))
        tick = 0
        while not self._stop.is_set():
            pids = procfs.tree(self.worker_pid)
            rss = sum(procfs.rss_bytes(p) for p in pids)
            pss = sum(procfs.pss_bytes(p) for p in pids) if tick % ticks_per_pss == 0 else 0
            conns = self._connections()
            with self._lock:
                self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
                self.processes = max(self.processes, len(pids))
                self.pg_peak = max(self.pg_peak, conns)
                self._pg_window = max(self._pg_window, conns)
            tick += 1
            self._stop.wait(RSS_EVERY)

    def window(self) -> int:
        with self._lock:
            peak, self._pg_window = self._pg_window, 0
        return peak

    def stop(self) -> Peaks:
        """Stop sampling (idempotent) and return the peaks."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self._pg is not None and not self._thread.is_alive():
            self._pg.close()
        with self._lock:
            return Peaks(self.rss / MIB, self.pss / MIB, self.processes, self.pg_peak)
