"""A reference implementation of the advisor's lookup rules, for checking the tables.

The advisor owns the real matcher; this one is deliberately tiny and follows the rules
the plugin tables are written against: an exact qualname wins, else the longest
``prefix.*`` pattern; a method on an object resolves through the ``returns`` of the
call that made the object.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from celery_poolkit.model import Call
from celery_poolkit.plugins import builtin_plugins


@dataclass(frozen=True)
class Knowledge:
    exact: dict[str, Call]
    patterns: dict[str, Call]  # prefix (without ".*") -> row

    def lookup(self, qualname: str) -> Call | None:
        if qualname in self.exact:
            return self.exact[qualname]
        parts = qualname.split(".")
        for end in range(len(parts) - 1, 0, -1):
            row = self.patterns.get(".".join(parts[:end]))
            if row is not None:
                return row
        return None

    def chain(self, first: str, *methods: str) -> Call | None:
        """Follow ``first(...).m1(...).m2(...)`` through ``returns``; None if it breaks."""
        row = self.lookup(first)
        for method in methods:
            if row is None or not row.returns:
                return None
            row = self.lookup(f"{row.returns}.{method}")
        return row


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    exact: dict[str, Call] = {}
    patterns: dict[str, Call] = {}
    for plugin in builtin_plugins():
        for call in plugin.calls:
            if call.qualname.endswith(".*"):
                patterns[call.qualname[:-2]] = call
            else:
                exact[call.qualname] = call
    return Knowledge(exact, patterns)
