"""Outlines parse the source with function bodies blanked out and record the same facts;
parse processes default to the idle cores."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from celery_poolkit.advisor import outline, parse
from celery_poolkit.advisor.visitor import module_facts

REPO = Path(__file__).resolve().parents[2]

# Everything the blanking has to get right: decorators, signatures over several lines
# (the closing line at the def's own indentation), colons and brackets in defaults,
# annotations and strings, one-line functions, bodies with strings and comments at
# column 0, a "def" inside a module-level string, backslash continuations, nesting.
TRICKY = '''\
import requests
from celery import shared_task

DOC = """
def not_a_function():
    return requests.get("x")
"""


@shared_task(bind=True, queue="io")
def fetch(
    self,
    url: str = "a:b(",
    mapping: dict[str, int] = {"k": 1},
) -> "dict[str, str]":
    """Docstring with a line at column 0:
not code
    """
    text = """
def inner_string():
    pass
"""
    total = 1 + \\
        2
# a comment at column 0 inside the body
    return requests.get(url)


def one_liner(x): return requests.post(x)


async def waits(x) -> None:  # a comment after the header
    def nested():
        return 1
    return nested()


class Client:
    session = requests.Session()
    TABLE = {"a": fetch}

    def __init__(self):
        self.http = requests.Session()

    @property
    def name(self) -> str:
        return "x"

    class Inner:
        def method(self):
            pass


after = Client()
'''


def outline_of(source: str, parsed: str | None = None) -> object:
    return module_facts(source, "m.py", "m", is_package=False, full=False, parsed=parsed)


def test_bodies_are_blanked_and_lines_kept() -> None:
    blanked = outline.without_bodies(TRICKY)
    assert blanked is not None
    assert blanked.count("\n") == TRICKY.count("\n")
    ast.parse(blanked)
    assert "requests.get(url)" not in blanked  # a body went
    assert "not code" not in blanked  # with its docstring
    assert "def not_a_function" in blanked  # a string is not code
    assert "def one_liner(x): return requests.post(x)" in blanked  # kept whole
    assert "after = Client()" in blanked
    assert outline_of(TRICKY, blanked) == outline_of(TRICKY)


@pytest.mark.parametrize(
    "source",
    [
        "x = 1\n",  # no function
        "def f(): return 1\n",  # only a one-line function
        "def f():\n\treturn 1\n",  # tabs: left to the parser
        "def f():\r    return 1\r",  # lone carriage returns end lines for Python only
    ],
)
def test_nothing_to_blank(source: str) -> None:
    assert outline.without_bodies(source) is None


def test_a_wrong_guess_does_not_parse_and_the_file_is_read_whole() -> None:
    # A bracket's contents at column 0 end the guessed body early: the closing bracket
    # is then left alone at module level, so the blanked text does not parse.
    source = "import os\n\ndef f():\n    x = [\n1]\n    return os.getcwd()\n\ny = f()\n"
    blanked = outline.without_bodies(source)
    assert blanked is not None
    with pytest.raises(SyntaxError):
        ast.parse(blanked)
    _, facts, skipped = parse.analyse_one("m.py", "m", False, source.encode(), "k", False)
    assert skipped is None
    assert facts == outline_of(source)


def test_same_outline_as_the_whole_parse_on_real_files() -> None:
    # Every Python file of this repository (the advisor, the examples, the tests): the
    # blanked parse must give exactly the facts of the whole one, or not parse at all.
    checked = 0
    for path in sorted(REPO.glob("**/*.py")):
        if any(part.startswith(".") or part in ("build", "dist") for part in path.parts):
            continue
        source = path.read_text(encoding="utf-8")
        blanked = outline.without_bodies(source)
        if blanked is None:
            continue
        assert blanked.count("\n") == source.count("\n"), path
        try:
            got = outline_of(source, blanked)
        except SyntaxError:
            continue  # the whole file is parsed instead
        assert got == outline_of(source), path
        checked += 1
    assert checked > 100


def test_a_last_line_without_a_line_end() -> None:
    source = "import os\n\ndef f():\n    x = 1\n    return os.getcwd()"
    blanked = outline.without_bodies(source)
    assert blanked == "import os\n\ndef f():\n ...\n"  # three line ends, as before
    assert outline_of(source, blanked) == outline_of(source)


@pytest.mark.parametrize(
    ("cores", "load", "jobs"),
    [(2, 0.1, 2), (2, 1.0, 1), (2, 12.0, 1), (16, 4.0, 8), (4, 1.2, 3)],
)
def test_parse_processes_default_to_the_idle_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, load: float, jobs: int
) -> None:
    monkeypatch.setattr(parse.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(parse.os, "getloadavg", lambda: (load, load, load))
    assert parse.default_jobs() == jobs


def test_parse_processes_without_a_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> tuple[float, float, float]:
        raise OSError("no load average here")

    monkeypatch.setattr(parse.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(parse.os, "getloadavg", unavailable)
    assert parse.default_jobs() == 2
