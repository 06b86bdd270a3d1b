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

#: ID, name, severity, summary; docs/rules.rst has an entry per row.
_RUNTIME_TABLE = """
PK801 | green-pool-not-patched     | error   | a gevent/eventlet worker whose process is not patched
PK802 | patched-for-another-pool   | warning | a patched process runs a pool that is not green
PK803 | imported-before-patching   | warning | a module imported early kept unpatched objects
PK804 | driver-not-green           | error   | an installed driver blocks the hub in this process
PK805 | adapter-failed             | error   | an adapter failed, or a plugin did not load
PK806 | version-below-minimum      | error   | a library older than its first green version
PK807 | greenlet-too-old           | error   | gevent on Python 3.11+ with greenlet < 3
PK808 | gevent-breaks-psycopg-pool | error   | gevent 25.4.0-25.4.1 with psycopg_pool installed
PK809 | psycogreen-missing         | error   | psycopg2 under gevent without psycogreen
PK810 | psycopg-on-eventlet        | error   | psycopg 3 under eventlet
PK811 | pool-library-missing       | error   | the gevent pool is selected, gevent is not installed
PK812 | patch-failed               | error   | poolkit doctor could not patch the process
PK813 | app-import-failed          | error   | poolkit doctor could not import the app
"""


def _rules(table: str) -> dict[str, Rule]:
    rows = (tuple(cell.strip() for cell in line.split("|")) for line in table.strip().splitlines())
    return {rid: Rule(rid, name, Severity(sev), summary) for rid, name, sev, summary in rows}


RUNTIME_RULES: dict[str, Rule] = _rules(_RUNTIME_TABLE)


def all_rules() -> dict[str, Rule]:
    """The advisor's rules and the runtime's, by ID (imports the advisor's table)."""
    from celery_poolkit.advisor.rules import RULES

    return {**RULES, **RUNTIME_RULES}


def severity(rule: str) -> Severity:
    """A rule's severity: one scale, and one severity per rule, whoever reports it."""
    known = RUNTIME_RULES.get(rule)
    return known.severity if known is not None else all_rules()[rule].severity
