"""nodes.below(): ast.walk's nodes of some types, in ast.walk's order."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from celery_poolkit.advisor import nodes

ADVISOR = Path(nodes.__file__).resolve().parent
KINDS = (
    ast.Call,
    (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
    ast.NamedExpr,
    ast.Attribute,
    ast.Lambda,
)


@pytest.mark.parametrize("kinds", KINDS, ids=repr)
def test_the_same_nodes_in_the_same_order_as_ast_walk(kinds: type | tuple[type, ...]) -> None:
    # The advisor's own source: every construct it is written in, nested every way.
    checked = 0
    for path in sorted(ADVISOR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        statements = [
            stmt
            for fn in ast.walk(tree)
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
            for stmt in fn.body
        ]
        for stmt in statements:
            expected = [n for n in ast.walk(stmt) if isinstance(n, kinds)]
            assert nodes.below(stmt, kinds) == expected, f"{path.name}:{stmt.lineno}"
            checked += len(expected)
    assert checked > 20


def test_leaves_hold_nothing_worth_finding() -> None:
    tree = ast.parse("x = a + -b < 'c' and not d\nf(x)[0] = [y for y in z]")
    for node in ast.walk(tree):
        if type(node) in nodes.LEAVES:
            assert all(type(child) in nodes.LEAVES for child in ast.walk(node))
