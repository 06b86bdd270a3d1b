"""The one rule-ID space: every finding poolkit shows has an ID documented in docs/rules.rst.

PK1xx-PK7xx are the advisor's (:data:`celery_poolkit.advisor.rules.RULES`); PK8xx are
the worker process's, reported by ``poolkit doctor`` and the start-up guard. Some of
their findings reuse an advisor ID for the same fact (PK305 eventlet, PK307 a Redis pool
capped below the concurrency, PK601 a queue running on another pool than advised).
``tests/test_rules.py`` checks that the IDs are unique and documented, and that every ID
the code reports is one of them.
"""

from __future__ import annotations

from celery_poolkit.model import Rule, Severity

_W, _E = Severity.WARNING, Severity.ERROR

RUNTIME_RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "PK801",
            "green-pool-not-patched",
            _E,
            "a gevent/eventlet worker whose process is not monkey patched",
        ),
        Rule(
            "PK802",
            "patched-for-another-pool",
            _W,
            "a process patched for a green library runs a pool that is not green",
        ),
        Rule(
            "PK803",
            "imported-before-patching",
            _W,
            "a module imported before patching kept an unpatched object",
        ),
        Rule(
            "PK804",
            "driver-not-green",
            _E,
            "an installed database or HTTP driver blocks the hub in this process",
        ),
        Rule(
            "PK805",
            "adapter-failed",
            _E,
            "a plugin's runtime adapter failed, or a third-party plugin could not load",
        ),
        Rule(
            "PK806",
            "version-below-minimum",
            _E,
            "a library older than the first version that works under gevent",
        ),
        Rule("PK807", "greenlet-too-old", _E, "gevent on Python 3.11+ with greenlet < 3"),
        Rule(
            "PK808",
            "gevent-breaks-psycopg-pool",
            _E,
            "gevent 25.4.0-25.4.1 with psycopg_pool installed",
        ),
        Rule("PK809", "psycogreen-missing", _E, "psycopg2 under gevent without psycogreen"),
        Rule("PK810", "psycopg-on-eventlet", _E, "psycopg 3 under eventlet"),
        Rule(
            "PK811",
            "pool-library-missing",
            _E,
            "the gevent pool is selected but gevent is not installed",
        ),
        Rule("PK812", "patch-failed", _E, "poolkit doctor could not patch the process"),
        Rule("PK813", "app-import-failed", _E, "poolkit doctor could not import the app"),
    )
}


def all_rules() -> dict[str, Rule]:
    """The advisor's rules and the runtime's, by ID (imports the advisor's table)."""
    from celery_poolkit.advisor.rules import RULES

    return {**RULES, **RUNTIME_RULES}


def severity(rule: str) -> Severity:
    """A rule's severity: one scale, and one severity per rule, whoever reports it."""
    known = RUNTIME_RULES.get(rule)
    return known.severity if known is not None else all_rules()[rule].severity
