"""The plugin tables, read through the advisor's own lookup.

The tests check the tables with :class:`celery_poolkit.advisor.knowledge.Knowledge`, the
matcher the advisor uses: an exact qualname wins, else the longest ``prefix.*``
pattern; a chain of attributes on an object (``OpenAI().chat.completions.create``)
goes through :meth:`Knowledge.lookup_below`, as in the advisor; a method on an object
resolves through the ``returns`` of the call that made the object.
"""

from __future__ import annotations

import pytest

from celery_poolkit.advisor.knowledge import Knowledge as _Knowledge
from celery_poolkit.model import Call
from celery_poolkit.plugins import builtin_plugins


class Knowledge(_Knowledge):
    def chain(self, first: str, *methods: str) -> Call | None:
        """Follow ``first(...).m1(...).m2(...)`` through ``returns``; None if it breaks.
        A method that is itself a chain (``chat.completions.create``) is looked up below
        the object's class, as the advisor does."""
        row = self.lookup(first)
        for method in methods:
            if row is None or not row.returns:
                return None
            owner = row.returns
            row = (
                self.lookup_below(owner, method)
                if "." in method
                else self.lookup(f"{owner}.{method}")
            )
        return row


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return Knowledge(c for plugin in builtin_plugins() for c in plugin.calls)
