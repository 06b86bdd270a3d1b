"""The nodes of some types below an AST node, in ``ast.walk``'s order, faster.

The visitor looks for calls and comprehensions in every statement it reads in full, and
``ast.walk`` (a generator over a generator over ``iter_fields``) was most of that work.
This walk yields the same nodes in the same order (breadth first, fields in order), and
does not descend into leaves: names, constants and operators, most of a tree's nodes,
hold no call or comprehension.
"""

from __future__ import annotations

import ast
from collections import deque
from typing import TypeVar

N = TypeVar("N", bound=ast.AST)


def _leaf_types() -> frozenset[type]:
    leaves: set[type] = {ast.Name, ast.Constant}
    for base in (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop):
        leaves.update(base.__subclasses__())
    return frozenset(leaves)


#: Exact types with nothing worth finding below them (a set lookup of ``type(node)``).
LEAVES = _leaf_types()


def below(node: ast.AST, kinds: type[N] | tuple[type[N], ...]) -> list[N]:
    """Every node under ``node`` (itself included) that is one of ``kinds``, in the order
    ``ast.walk`` gives. ``kinds`` must not be a leaf type (see :data:`LEAVES`)."""
    found: list[N] = []
    todo = deque([node])
    while todo:
        current = todo.popleft()
        if isinstance(current, kinds):
            found.append(current)
        for field in current._fields:
            value = getattr(current, field, None)
            if type(value) is list:
                todo.extend(v for v in value if type(v) not in LEAVES and isinstance(v, ast.AST))
            elif type(value) not in LEAVES and isinstance(value, ast.AST):
                todo.append(value)
    return found
