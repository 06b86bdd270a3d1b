"""Which calls in a ``for`` loop's body work on the loop's item.

Per-item CPU work (one template rendered, one key hashed, one document parsed) adds up
only when it is repeated on different items: ``for page in pages: BeautifulSoup(page)``.
A call inside the loop whose arguments do not change with the item is the same work
done again on the same value, or done once and left in the loop by the code's shape:
``for validator in validators: validator.check(etree.XML(doc))`` parses ``doc`` once
per validator, and a task has few of those. Counting it as CPU work mislabels one
message's parsing as a batch job.

A call works on the item when a name it reads (in its arguments or in the chain it is
called on: ``hashlib.sha256(f.read()).hexdigest()``) is the loop's target or a name the
body binds from one (``data = f.read()``), following assignments in the body to a
fixpoint. Pure AST, no resolution: the visitor records the calls' positions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

#: Assignment passes over a body: bindings chain rarely deeper than this.
_PASSES = 4


def item_calls(loop: ast.For | ast.AsyncFor) -> list[tuple[int, int]]:
    """(line, col) of every call in ``loop``'s body whose inputs depend on the item."""
    tainted = _names(loop.target)
    nodes = [node for stmt in loop.body for node in ast.walk(stmt)]
    for _ in range(_PASSES):
        grew = False
        for target, value in _bindings(nodes):
            if _names(target) - tainted and _names(value) & tainted:
                tainted |= _names(target)
                grew = True
        if not grew:
            break
    return [
        (node.lineno, node.col_offset)
        for node in nodes
        if isinstance(node, ast.Call) and _reads(node) & tainted
    ]


def _bindings(nodes: list[ast.AST]) -> Iterator[tuple[ast.AST, ast.AST]]:
    """(target, value) of the assignments among ``nodes``: ``=``, ``+=``, annotated,
    ``:=``, ``with ... as``, and inner loops (``for row in page.rows``)."""
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield target, node.value
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr):
            if node.value is not None:
                yield node.target, node.value
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            yield node.optional_vars, node.context_expr
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            yield node.target, node.iter


def _reads(call: ast.Call) -> set[str]:
    """The names a call reads: its arguments and the receiver chain it is called on."""
    parts: list[ast.AST] = [*call.args, *(kw.value for kw in call.keywords)]
    if isinstance(call.func, ast.Attribute):
        parts.append(call.func.value)
    return set().union(*(_names(part) for part in parts)) if parts else set()


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
