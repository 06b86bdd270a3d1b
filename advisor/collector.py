"""The cyclic garbage collector, paused around bursts of short-lived acyclic objects.

Parsing a file makes tens of thousands of AST nodes, and writing the cache turns every
fact into dicts and lists. Each burst of allocations triggers collections, and the older
ones walk every object the run holds (the facts of every file read so far), so with the
collector on, a cold run on a large project spent a quarter of its CPU collecting
garbage that has no cycles: ASTs and dumped facts are freed by reference counting.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (what it makes must be bounded and acyclic), and
    back to how it was after, even when the block raises."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def settling() -> Iterator[Callable[[], None]]:
    """Yields ``settle()``: call it after a burst of objects that live until the block
    ends (a parse round's facts). They are moved out of the collector's reach
    (``gc.freeze``), so the collections the rest of the run triggers walk only what came
    after them, not every fact again; on exit they are handed back (``gc.unfreeze``).

    A caller that froze objects of its own (a prefork parent before forking) keeps them
    as they are: then nothing is frozen or thawed here. So does CPython 3.12, which
    starts with objects of its own frozen: there the collector runs as without this.
    """
    ours = gc.get_freeze_count() == 0

    def settle() -> None:
        if ours:
            gc.freeze()

    try:
        yield settle
    finally:
        if ours:
            gc.unfreeze()
