"""The checks of a worker process: versions, known-bad combinations, patch results, drivers.

``poolkit doctor`` runs them all; the start-up guard reuses the ones about the patch
(hazards, adapter results) and the drivers, so each is written once. Versions come from
installed distributions' metadata (nothing is imported to learn a version). The known-bad
combinations are a table: each row is one upstream bug or limitation with its reference
and rule ID, so adding one is adding a row; a library's minimum version is its plugin's
``min_version``. Driver states come from the plugins' ``driver_state`` hooks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from celery_poolkit.bootstrap.results import PatchResult
from celery_poolkit.model import (
    AdapterResult,
    AdapterStatus,
    DriverState,
    Finding,
    PatchHazard,
    Pool,
    Severity,
)
from celery_poolkit.plugins.base import Plugin
from celery_poolkit.rules import severity
from celery_poolkit.versions import installed_version, version_tuple

__all__ = [
    "Diagnosis",
    "DriverState",
    "adapter_findings",
    "below_minimum",
    "driver_findings",
    "driver_states",
    "hazard_findings",
    "installed_versions",
    "known_bad",
    "version_tuple",
]

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


@dataclass(frozen=True, slots=True)
class Diagnosis:
    python: str
    versions: tuple[tuple[str, str | None], ...]
    pool: Pool | None
    pool_source: str
    patched_before: Pool | None  # who had patched this process before doctor did
    patch: PatchResult | None
    drivers: tuple[DriverState, ...]
    findings: tuple[Finding, ...]

    @property
    def broken(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

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
                {
                    "rule": f.rule,
                    "severity": f.severity.value,
                    "subject": f.subject,
                    "message": f.message,
                    "fix": f.fix,
                }
                for f in self.findings
            ],
            "broken": self.broken,
        }


def installed_versions() -> dict[str, str | None]:
    return {name: installed_version(aliases) for name, aliases in DISTRIBUTIONS}


Versions = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Combination:
    """A known-bad combination: ``applies(versions, python, pool)`` -> finding ``rule``."""

    rule: str
    subject: str
    applies: Callable[[Versions, tuple[int, ...], Pool | None], bool]
    message: str
    fix: str


def _has(v: Versions, name: str) -> bool:
    return bool(v.get(name))


def _gevent_in_play(v: Versions, pool: Pool | None) -> bool:
    """gevent is the pool, or no pool is known and gevent is installed, so may be used."""
    return pool is Pool.GEVENT or (pool is None and _has(v, "gevent"))


KNOWN_BAD: tuple[Combination, ...] = (
    Combination(
        "PK807",
        "greenlet",
        lambda v, py, pool: py >= (3, 11) and _has(v, "gevent") and v.get("greenlet", ()) < (3,),
        "gevent on Python 3.11+ needs greenlet >= 3.0 (celery #8425, gevent #1985)",
        "pip install -U 'greenlet>=3'",
    ),
    Combination(
        "PK808",
        "gevent-queue",
        lambda v, py, pool: (25, 4) <= v.get("gevent", ()) < (25, 4, 2) and _has(v, "psycopg-pool"),
        "gevent 25.4.1 breaks psycopg_pool (queue.Queue[T] subclass: TypeError, gevent #2107)",
        "pip install -U 'gevent>=25.4.2'",
    ),
    Combination(
        "PK809",
        "psycogreen",
        lambda v, py, pool: (
            _gevent_in_play(v, pool) and _has(v, "psycopg2") and not _has(v, "psycogreen")
        ),
        "psycopg2 without psycogreen: under gevent every query blocks the hub",
        "pip install 'celery-poolkit[gevent]'",
    ),
    Combination(
        "PK305",
        "eventlet",
        lambda v, py, pool: pool is Pool.EVENTLET,
        "eventlet is deprecated upstream (maintenance only; celery #9257)",
        "move to gevent: poolkit worker -P gevent ...",
    ),
    Combination(
        "PK810",
        "psycopg-eventlet",
        lambda v, py, pool: pool is Pool.EVENTLET and _has(v, "psycopg"),
        "psycopg 3 does not support eventlet: its queries block the hub",
        "use gevent, or psycopg2 (which eventlet greens)",
    ),
    Combination(
        "PK811",
        "gevent-missing",
        lambda v, py, pool: pool is Pool.GEVENT and not _has(v, "gevent"),
        "the gevent pool is selected but gevent is not installed",
        "pip install 'celery-poolkit[gevent]'",
    ),
)


def known_bad(
    versions: Mapping[str, str | None], python: tuple[int, ...], pool: Pool | None
) -> list[Finding]:
    parsed = {name: version_tuple(text) for name, text in versions.items()}
    found = [
        Finding(row.rule, severity(row.rule), row.message, subject=row.subject, fix=row.fix)
        for row in KNOWN_BAD
        if row.applies(parsed, python, pool)
    ]
    if _gevent_in_play(parsed, pool):
        found += below_minimum(
            lambda p: versions[p.name] if p.name in versions else installed_version(p.distributions)
        )
    return found


def below_minimum(installed: Callable[[Plugin], str | None]) -> list[Finding]:
    """PK806 for every runtime plugin whose installed library (``installed(plugin)``) is
    older than its ``min_version``: the first version that works under gevent."""
    from celery_poolkit.plugins import runtime_plugins

    found = []
    for plugin in runtime_plugins():
        version = installed(plugin) if plugin.min_version else None
        if version and version_tuple(version) < plugin.min_version:
            minimum = ".".join(map(str, plugin.min_version))
            found.append(Finding(
                "PK806", severity("PK806"), f"{plugin.name} {version}: {plugin.min_version_why}",
                subject=plugin.name, fix=f"pip install -U '{plugin.distributions[0]}>={minimum}'",
            ))  # fmt: skip
    return found


def driver_states(pool: Pool) -> list[DriverState]:
    """Ask every runtime plugin's ``driver_state`` hook, in this (patched) process.

    Importing a driver here is safe: the process has already patched, as a worker would.
    A hook that fails says so as a state that is not green.
    """
    from celery_poolkit.plugins import runtime_plugins

    states = []
    for plugin in runtime_plugins():
        try:
            hook = plugin.hook("driver_state")
            state = hook(pool) if hook is not None else None
        except Exception as exc:
            state = DriverState(plugin.name, False, f"check failed: {type(exc).__name__}: {exc}")
        if state is not None:
            states.append(state)
    return states


def hazard_findings(hazards: Iterable[PatchHazard]) -> list[Finding]:
    return [h.as_finding() for h in hazards]


def adapter_findings(results: Iterable[AdapterResult]) -> list[Finding]:
    """PK805 for every adapter that failed: the library it adapts blocks the hub."""
    return [
        Finding("PK805", severity("PK805"), f"the {a.plugin} adapter failed: {a.detail}",
                subject=a.plugin, fix="see the message; `poolkit doctor` shows every adapter")
        for a in results
        if a.status is AdapterStatus.FAILED
    ]  # fmt: skip


def driver_findings(states: Iterable[DriverState], pool: Pool) -> list[Finding]:
    return [
        Finding("PK804", severity("PK804"), f"{d.name} is not green under {pool.value}: {d.detail}",
                subject=d.name,
                fix="install celery-poolkit's extras for it (pip install "
                "'celery-poolkit[gevent,postgres]') and patch before importing the driver")
        for d in states
        if not d.green
    ]  # fmt: skip


def patch_findings(report: PatchResult) -> list[Finding]:
    return hazard_findings(report.hazards) + adapter_findings(report.adapters)


def python_version() -> tuple[int, ...]:
    return tuple(sys.version_info[:3])
