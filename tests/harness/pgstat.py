"""What a PostgreSQL server sees: connections per application_name, sampled in a thread.

Used by the green database tests and ``benchmarks/greendb.py`` to measure how many
connections a worker holds (peak, and after it stops) from the server's side, in
``pg_stat_activity``, rather than trusting the client's own accounting.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg2

_QUERY = (
    "SELECT count(*), count(*) FILTER (WHERE state = 'active') "
    "FROM pg_stat_activity WHERE application_name = %s"
)


def connections(dsn: str, application_name: str) -> tuple[int, int]:
    """(connections, of which running a query) that ``application_name`` holds now."""
    conn = psycopg2.connect(dsn, application_name="harness-pgstat")
    try:
        with conn.cursor() as cur:
            cur.execute(_QUERY, (application_name,))
            total, active = cur.fetchone()
            return int(total), int(active)
    finally:
        conn.close()


def wait_for_connections(
    dsn: str,
    application_name: str,
    *,
    total: int | None = None,
    active: int | None = None,
    timeout: float = 10.0,
) -> tuple[int, int]:
    """Poll until the counts are at most ``total``/``active`` (or ``timeout``); returns the
    last counts, so the caller asserts on them and a failure shows what was seen."""
    deadline = time.monotonic() + timeout
    while True:
        seen = connections(dsn, application_name)
        ok = (total is None or seen[0] <= total) and (active is None or seen[1] <= active)
        if ok or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


@dataclass
class ActivitySampler:
    """Samples ``pg_stat_activity`` every ``period`` seconds until stopped; one connection
    of its own (application_name ``harness-pgstat``, not counted)."""

    dsn: str
    application_name: str
    period: float = 0.02
    peak: int = 0
    peak_active: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ActivitySampler:
        conn = psycopg2.connect(self.dsn, application_name="harness-pgstat")
        conn.autocommit = True
        self._thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, conn: psycopg2.extensions.connection) -> None:
        try:
            with conn.cursor() as cur:
                while not self._stop.is_set():
                    cur.execute(_QUERY, (self.application_name,))
                    total, active = cur.fetchone()
                    self.peak = max(self.peak, int(total))
                    self.peak_active = max(self.peak_active, int(active))
                    self.samples += 1
                    self._stop.wait(self.period)
        finally:
            conn.close()
