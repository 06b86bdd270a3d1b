"""``poolkit doctor``'s checks: versions, known-bad combinations, patch state, green drivers.

Versions come from installed distributions' metadata (nothing is imported to learn a
version). The known-bad combinations are a table: each row is one upstream bug or
limitation with its reference, so adding one is adding a row.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata

from celery_poolkit.bootstrap.report import AdapterStatus, PatchReport
from celery_poolkit.model import Pool

#: What doctor reports, by distribution name; the first installed alias wins.
DISTRIBUTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("celery", ("celery",)),
    ("kombu", ("kombu",)),
    ("gevent", ("gevent",)),
    ("greenlet", ("greenlet",)),
    ("eventlet", ("eventlet",)),
    ("psycopg2", ("psycopg2", "psycopg2-binary")),
    ("psycogreen", ("psycogreen",)),
    ("psycopg", ("psycopg",)),
    ("psycopg-pool", ("psycopg-pool",)),
    ("grpcio", ("grpcio",)),
    ("urllib3", ("urllib3",)),
    ("mysqlclient", ("mysqlclient",)),
)


class Level(str, enum.Enum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    topic: str
    message: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class DriverState:
    """Whether one installed driver cooperates with the green pool in this process."""

    name: str
    green: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Diagnosis:
    python: str
    versions: tuple[tuple[str, str | None], ...]
    pool: Pool | None
    pool_source: str
    patched_before: Pool | None  # who had patched this process before doctor did
    patch: PatchReport | None
    drivers: tuple[DriverState, ...]
    findings: tuple[Finding, ...]

    @property
    def broken(self) -> bool:
        return any(f.level is Level.ERROR for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        patch = self.patch
        return {
            "python": self.python,
            "versions": dict(self.versions),
            "pool": self.pool.value if self.pool else None,
            "pool_source": self.pool_source,
            # The pool that had patched the process, or false (the text says "no"): null
            # would read as "unknown".
            "patched_before_doctor": self.patched_before.value if self.patched_before else False,
            "patch": None
            if patch is None
            else {
                "pool": patch.pool.value if patch.pool else None,
                "patched": patch.patched,
                "modules": list(patch.modules),
                "hazards": [
                    {"kind": h.kind, "module": h.module, "problem": h.problem, "fix": h.fix}
                    for h in patch.hazards
                ],
                "adapters": [
                    {"plugin": a.plugin, "status": a.status.value, "detail": a.detail}
                    for a in patch.adapters
                ],
            },
            "drivers": [
                {"name": d.name, "green": d.green, "detail": d.detail} for d in self.drivers
            ],
            "findings": [
                {"level": f.level.value, "topic": f.topic, "message": f.message, "fix": f.fix}
                for f in self.findings
            ],
            "broken": self.broken,
        }


def installed_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name, aliases in DISTRIBUTIONS:
        found[name] = None
        for alias in aliases:
            try:
                found[name] = metadata.version(alias)
                break
            except metadata.PackageNotFoundError:
                continue
    return found


def version_tuple(text: str | None) -> tuple[int, ...]:
    """``"3.1.14"`` -> ``(3, 1, 14)``; pre-release tails are dropped. ``None`` -> ``()``."""
    if not text:
        return ()
    parts = []
    for piece in text.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


Versions = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A known-bad combination: ``applies(versions, python, pool)`` -> a finding."""

    topic: str
    applies: Callable[[Versions, tuple[int, ...], Pool | None], bool]
    level: Level
    message: str
    fix: str


def _has(v: Versions, name: str) -> bool:
    return bool(v.get(name))


def _gevent_in_play(v: Versions, pool: Pool | None) -> bool:
    """gevent is the pool, or no pool is known and gevent is installed, so may be used."""
    return pool is Pool.GEVENT or (pool is None and _has(v, "gevent"))


RULES: tuple[Rule, ...] = (
    Rule(
        "greenlet",
        lambda v, py, pool: py >= (3, 11) and _has(v, "gevent") and v.get("greenlet", ()) < (3,),
        Level.ERROR,
        "gevent on Python 3.11+ needs greenlet >= 3.0 (celery #8425, gevent #1985)",
        "pip install -U 'greenlet>=3'",
    ),
    Rule(
        "gevent-queue",
        lambda v, py, pool: (25, 4) <= v.get("gevent", ()) < (25, 4, 2) and _has(v, "psycopg-pool"),
        Level.ERROR,
        "gevent 25.4.1 breaks psycopg_pool (queue.Queue[T] subclass: TypeError, gevent #2107)",
        "pip install -U 'gevent>=25.4.2'",
    ),
    Rule(
        "psycogreen",
        lambda v, py, pool: (
            _gevent_in_play(v, pool) and _has(v, "psycopg2") and not _has(v, "psycogreen")
        ),
        Level.ERROR,
        "psycopg2 without psycogreen: under gevent every query blocks the hub",
        "pip install 'celery-poolkit[gevent]'",
    ),
    Rule(
        "psycopg-gevent",
        lambda v, py, pool: (
            _gevent_in_play(v, pool) and _has(v, "psycopg") and v.get("psycopg", ()) < (3, 1, 14)
        ),
        Level.ERROR,
        "psycopg < 3.1.14 blocks the gevent hub (psycopg #527)",
        "pip install -U 'psycopg>=3.1.14'",
    ),
    Rule(
        "eventlet",
        lambda v, py, pool: pool is Pool.EVENTLET,
        Level.WARNING,
        "eventlet is deprecated upstream (maintenance only; celery #9257)",
        "move to gevent: poolkit worker -P gevent ...",
    ),
    Rule(
        "psycopg-eventlet",
        lambda v, py, pool: pool is Pool.EVENTLET and _has(v, "psycopg"),
        Level.ERROR,
        "psycopg 3 does not support eventlet: its queries block the hub",
        "use gevent, or psycopg2 (which eventlet greens)",
    ),
    Rule(
        "mysqlclient",
        lambda v, py, pool: pool in (Pool.GEVENT, Pool.EVENTLET) and _has(v, "mysqlclient"),
        Level.WARNING,
        "mysqlclient (MySQLdb) blocks the hub under green pools (mysqlclient PR #285)",
        "use PyMySQL on green queues",
    ),
    Rule(
        "gevent-missing",
        lambda v, py, pool: pool is Pool.GEVENT and not _has(v, "gevent"),
        Level.ERROR,
        "the gevent pool is selected but gevent is not installed",
        "pip install 'celery-poolkit[gevent]'",
    ),
)


def known_bad(
    versions: Mapping[str, str | None], python: tuple[int, ...], pool: Pool | None
) -> list[Finding]:
    parsed = {name: version_tuple(text) for name, text in versions.items()}
    return [
        Finding(rule.level, rule.topic, rule.message, rule.fix)
        for rule in RULES
        if rule.applies(parsed, python, pool)
    ]


def driver_states(pool: Pool, versions: Mapping[str, str | None]) -> list[DriverState]:
    """Check, in this (patched) process, that each installed driver is green.

    Importing a driver here is safe: doctor has already patched, as a worker would.
    """
    states = []
    if versions.get("psycopg2"):
        import psycopg2.extensions

        callback = psycopg2.extensions.get_wait_callback()
        states.append(DriverState(
            "psycopg2", callback is not None,
            f"wait callback {callback.__module__}.{callback.__qualname__}" if callback
            else "no wait callback: queries block the hub",
        ))  # fmt: skip
    if versions.get("psycopg"):
        import psycopg.waiting

        name = getattr(psycopg.waiting.wait, "__name__", "?")
        green = pool is Pool.GEVENT and name != "wait_c"
        states.append(DriverState("psycopg", green, f"wait function {name}"))
    if versions.get("urllib3") and pool is Pool.GEVENT:
        import urllib3.connectionpool

        queue = urllib3.connectionpool.ConnectionPool.QueueCls
        states.append(DriverState(
            "urllib3", queue.__module__.startswith("gevent"),
            f"ConnectionPool.QueueCls is {queue.__module__}.{queue.__qualname__}",
        ))  # fmt: skip
    if versions.get("mysqlclient"):
        states.append(DriverState("mysqlclient", False, "C driver: blocks the hub"))
    return states


def patch_findings(report: PatchReport) -> list[Finding]:
    findings = [
        Finding(Level.WARNING, f"hazard:{h.kind}", f"{h.module}: {h.problem}", h.fix)
        for h in report.hazards
    ]
    findings += [
        Finding(Level.ERROR, f"adapter:{a.plugin}", a.detail, "see the message")
        for a in report.adapters
        if a.status is AdapterStatus.FAILED
    ]
    return findings


def python_version() -> tuple[int, ...]:
    return tuple(sys.version_info[:3])
