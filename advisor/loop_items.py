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
    """(line, col) of every call in ``loop``'s body whose inputs depend on its item or on
    the item of a loop nested in it: read once from the outermost loop."""
    reading = _Reading()
    for stmt in loop.body:
        reading.names(stmt)
    tainted = reading.names(loop.target) | reading.items
    for _ in range(_PASSES):
        grew = False
        for targets, values in reading.bindings:
            if targets - tainted and values & tainted:
                tainted |= targets
                grew = True
        if not grew:
            break
    return [where for where, reads in reading.calls if reads & tainted]


class _Reading:
    """One walk of a loop body: the names each subtree reads, the calls with the names
    they read (arguments and receiver chain), and the assignments as (targets, values)
    name sets. Each node is visited once, whatever the nesting of calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, int], frozenset[str]]] = []
        self.bindings: list[tuple[frozenset[str], frozenset[str]]] = []
        self.items: frozenset[str] = frozenset()  # the targets of the loops nested inside

    def names(self, node: ast.AST) -> frozenset[str]:
        if isinstance(node, ast.Name):
            return frozenset((node.id,))
        parts = {id(child): self.names(child) for child in ast.iter_child_nodes(node)}
        found = frozenset().union(*parts.values()) if parts else frozenset()
        if isinstance(node, ast.Call):
            # A keyword reads its value's names; an attribute callee its receiver's.
            inputs: list[ast.AST] = [*node.args, *node.keywords]
            if isinstance(node.func, ast.Attribute):
                inputs.append(node.func)
            reads = frozenset().union(*(self._of(parts, n) for n in inputs))
            self.calls.append(((node.lineno, node.col_offset), reads))
        for target, value in _binding(node):
            self.bindings.append((self._of(parts, target), self._of(parts, value)))
        if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            self.items |= self._of(parts, node.target)
        return found

    def _of(self, parts: dict[int, frozenset[str]], node: ast.AST) -> frozenset[str]:
        """The names ``node`` reads: a direct child's are known; a deeper node (the value
        of a ``with`` item's context) is read again, which is rare and small."""
        known = parts.get(id(node))
        if known is not None:
            return known
        return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _binding(node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    """(target, value) of an assignment node: ``=``, ``+=``, annotated, ``:=``,
    ``with ... as``, and inner loops (``for row in page.rows``)."""
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
