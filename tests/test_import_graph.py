"""No import cycles in the installed package, and the layering the architecture page draws.

Reads every module of the installed ``celery_poolkit`` (advisor and plugins included)
with ``ast``; an import inside a function counts too (a lazy import is still a
dependency), one under ``if TYPE_CHECKING:`` does not. A submodule's own parent
packages are not edges: Python imports them first for any submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import celery_poolkit

PACKAGE = Path(celery_poolkit.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = [p for p in path.relative_to(PACKAGE).with_suffix("").parts if p != "__init__"]
        found[".".join(["celery_poolkit", *parts])] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", "") == "TYPE_CHECKING":
                continue
            if isinstance(child, ast.Import):
                out.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    out.add(sub if sub in modules else child.module)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in out if m in modules}


def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def test_the_checker_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle() -> None:
    edges = graph()
    assert "celery_poolkit.worker.step" in edges  # the graph read the installed package
    assert cycles(edges) == []


def _depends(edges: dict[str, set[str]], module: str, prefix: str) -> set[str]:
    return {m for m in edges[module] if m == prefix or m.startswith(prefix + ".")}


def test_who_may_import_whom() -> None:
    """docs/architecture.rst: model imports nothing of the project; bootstrap, plugins,
    greendb and the advisor never import the worker side (but its profile values) or the
    CLI; bootstrap and plugins never import the advisor; nothing but the CLI (and
    ``python -m celery_poolkit``) imports the CLI."""
    edges = graph()
    assert edges["celery_poolkit.model"] == set()
    # The one door from the worker side: the profile's frozen values and their reader
    # (``poolkit advise --profile``); that module imports no celery.
    assert _depends(edges, "celery_poolkit.worker.profile", "celery_poolkit") == set()
    for module in edges:
        layer = module.split(".")[1] if "." in module else ""
        if layer in ("bootstrap", "plugins", "advisor", "greendb"):
            worker = _depends(edges, module, "celery_poolkit.worker")
            assert worker <= {"celery_poolkit.worker.profile"}, module
        if layer not in ("cli", "__main__"):
            assert not _depends(edges, module, "celery_poolkit.cli"), module
        if layer in ("bootstrap", "plugins"):
            assert not _depends(edges, module, "celery_poolkit.advisor"), module
