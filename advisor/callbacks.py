"""Functions a library call runs, as calls of the task.

``transaction.on_commit(notify)`` runs ``notify`` after the transaction commits, inside
the task; ``executor.submit(fetch, url)`` runs ``fetch`` in a thread the task waits on.
A lambda is already read where it is written; a function passed by name is not called
in the source, so the visitor adds a call site for it here, resolved like a direct call
(``functools.partial(notify, url)`` unwrapped). Only the runners listed call what they
are given; any other library call that takes a function may only store it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator

from celery_poolkit.advisor.facts import CallSite

#: Library calls that run the callable they are given (the first argument, or ``func=``).
RUNNERS = frozenset(
    {
        "django.db.transaction.on_commit",
        "asyncio.to_thread",
        # Event loops run the async function they are handed (``anyio.run(main, url)``).
        "anyio.run",
        "anyio.to_thread.run_sync",
        "anyio.from_thread.run",
        "trio.run",
        "asgiref.sync.async_to_sync",
        "asgiref.sync.sync_to_async",
        "concurrent.futures.ThreadPoolExecutor.submit",
        "concurrent.futures.ThreadPoolExecutor.map",
        "concurrent.futures.Executor.submit",
        "concurrent.futures.Executor.map",
    }
)
_LAST = frozenset(name.rpartition(".")[2] for name in RUNNERS)
_PARTIAL = frozenset({"functools.partial"})


def sites(
    calls: Iterable[CallSite],
    expressions: Iterator[ast.AST],
    dotted: Callable[[ast.expr], str | None],
    call_site: Callable[[ast.Call], CallSite | None],
) -> Iterator[CallSite]:
    """Call sites for the functions the runners among ``calls`` are handed."""
    if not any(_runs(site) for site in calls):
        return
    for expr in expressions:
        for node in ast.walk(expr):
            if not isinstance(node, ast.Call) or not isinstance(
                node.func, ast.Attribute | ast.Name
            ):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name not in _LAST:
                continue
            site = call_site(node)
            if site is None or not _runs(site):
                continue
            given = node.args[0] if node.args else _keyword(node, "func")
            if isinstance(given, ast.Call) and given.args and dotted(given.func) in _PARTIAL:
                given = given.args[0]
            if isinstance(given, ast.Name | ast.Attribute):
                called = ast.Call(func=given, args=[], keywords=[])
                ast.copy_location(called, node)
                run = call_site(called)
                if run is not None:
                    yield run


def _runs(site: CallSite) -> bool:
    """A runner called by name (``transaction.on_commit``) or as a method of a value of
    known class (``pool.submit`` on a ``ThreadPoolExecutor()``)."""
    return site.target in RUNNERS or (bool(site.recv) and f"{site.recv}.{site.target}" in RUNNERS)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)
