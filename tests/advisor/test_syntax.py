"""Files in a newer Python's syntax are read whatever Python runs the advisor."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from advisor_helpers import APP, advise, write

from celery_poolkit.advisor import syntax

# Python 3.12-3.14 syntax that 3.10 and 3.11 refuse, around a helper the task calls.
NEWER = '''\
import requests

type Payload[T] = dict[str, T]


class Client[T]:
    def fetch[U](self, url: U) -> T:
        return requests.get(f"{url}/{CONFIG["path"]}")


def total(*parts: *Ts) -> tuple[*Ts]:
    try:
        pass
    except* ValueError:
        pass
    return parts


def notify(user):
    text = f"""
    {user["name"]}: {requests.post("https://example.com/hook")}
    """
    return text
'''

TASKS = (
    APP
    + """
from proj.helpers import Client, notify

@app.task
def fetch_it(url):
    return Client().fetch(url)

@app.task
def notify_it(user):
    return notify(user)
"""
)


def test_helpers_in_newer_syntax_are_followed_with_their_lines(tmp_path: Path) -> None:
    root = write(
        tmp_path, {"proj/__init__.py": "", "proj/tasks.py": TASKS, "proj/helpers.py": NEWER}
    )
    advice = advise(root)
    assert not advice.skipped
    tasks = {t.name: t for t in advice.tasks}
    lines = NEWER.splitlines()
    get_line = next(n for n, text in enumerate(lines, 1) if "requests.get" in text)
    post_line = next(n for n, text in enumerate(lines, 1) if "requests.post" in text)
    fetch = tasks["proj.tasks.fetch_it"]
    assert [e.location.line for e in fetch.evidence if e.kind == "net_io"] == [get_line]
    notify = tasks["proj.tasks.notify_it"]
    # The call inside the f-string is kept, on its own line of the triple-quoted string.
    assert [e.location.line for e in notify.evidence if e.kind == "net_io"] == [post_line]


def test_the_downgrade_parses_on_the_running_python_and_keeps_line_count() -> None:
    source = NEWER + 'def later(x):\n    return t"{x.load()}" "tail"\n'
    rewritten = syntax.downgrade(source)
    assert rewritten is not None
    assert rewritten.count("\n") == source.count("\n")
    tree = ast.parse(rewritten)
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert {"get", "post", "load"} <= names  # calls inside f-/t-strings survive
    # What the running Python reads is kept as it is; only what it refuses is rewritten.
    if sys.version_info < (3, 12):
        assert "Payload = dict[str, T]" in rewritten
        assert "class Client:" in rewritten
    if sys.version_info < (3, 11):
        assert "except ValueError:" in rewritten


def test_code_no_python_accepts_is_still_reported() -> None:
    assert syntax.downgrade("def f(:\n    pass\n") is None
    bad = SyntaxError("too many nested parentheses")
    assert not syntax.worth_rewriting(bad)
    assert syntax.worth_rewriting(SyntaxError("invalid syntax"))


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 parses PEP 695 natively")
def test_only_the_statements_ast_refuses_go_through_libcst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libcst costs 10-15x ast: a big file with one generic class rewrites that class."""
    seen: list[str] = []
    real = syntax._downgrade_all

    def spy(source: str) -> str | None:
        seen.append(source)
        return real(source)

    monkeypatch.setattr(syntax, "_downgrade_all", spy)
    plain = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(200))
    # A string in the type parameters: beyond the cheap rewrite, libcst's to read.
    generic = '@decorate\nclass Box[T: "Bound"]:\n    def get(self) -> T:\n        pass\n\n\n'
    source = plain + generic + plain.replace("def f", "def g")
    rewritten = syntax.downgrade(source)
    assert rewritten is not None
    assert rewritten.count("\n") == source.count("\n")
    ast.parse(rewritten)
    (chunk,) = seen
    assert chunk.startswith('@decorate\nclass Box[T: "Bound"]:')
    assert "def f1(" not in chunk
    assert "def g1(" not in chunk


#: PEP 695 lines the cheap rewrite handles, in the shapes real code writes them.
GENERICS = (
    "def f[T](x: T) -> T:\n    return x\n",
    "async def f[T: (int, str), *Ts, **P](x):\n    pass\n",
    "class A[K](Base[K, list[int]]):\n    pass\n",
    "class A[K]:\n    x = 1\n",
    "type X = int\n",
    "type X[T] = dict[str, T]  # a comment\n",
    "type   X   =   int\n",
    "class C:\n    type Y = int\n\n    def m[T](self) -> T:\n        pass\n",
    "x = 1\r\ntype A = int\r\ndef g[T](a):\r\n    return a\r\n",
    "def f[T = int](x):\n    pass\n",
)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 parses PEP 695 natively")
@pytest.mark.parametrize("source", GENERICS)
def test_type_parameters_are_dropped_without_libcst_as_libcst_would(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libcst's import costs more than parsing a hundred files: PEP 695 on one line is
    rewritten without it, into the very text libcst's rewrite gives."""
    by_libcst = syntax._downgrade_all(source)
    calls: list[str] = []
    monkeypatch.setattr(syntax, "_downgrade_all", calls.append)
    rewritten = syntax.downgrade(source)
    assert calls == []
    assert rewritten == by_libcst
    ast.parse(rewritten)


def test_lines_inside_strings_are_not_rewritten() -> None:
    source = 'DOC = """\ndef f[T](x):\ntype X = int\n"""\ntype Y = int\n'
    rewritten = syntax._without_type_parameters(source)
    assert rewritten == 'DOC = """\ndef f[T](x):\ntype X = int\n"""\nY = int\n'
