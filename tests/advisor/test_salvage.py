"""Files Python 3 refuses in part (Python 2 statements in a body) keep their tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from advisor_helpers import advise_files

from celery_poolkit.advisor import salvage

PY2_TASKS = """
from celery.task import task
import requests

@task
def a(path):
    try:
        print "reading %s" % (
            path,
        )
    except IOError, e:
        print >>log, e
    return `path`

@task
def b(url):
    print url
    return requests.get(url)
"""


def test_python_2_statements_in_bodies_do_not_lose_the_file(tmp_path: Path) -> None:
    advice = advise_files(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": PY2_TASKS})
    assert {t.name for t in advice.tasks} == {"proj.tasks.a", "proj.tasks.b"}
    b = next(t for t in advice.tasks if t.name == "proj.tasks.b")
    assert "net_io" in {e.kind for e in b.evidence}  # the rest of the body is read
    notes = [s for s in advice.skipped if s.path == "proj/tasks.py"]
    assert len(notes) == 1
    # the print and its two continuation lines, the backticks, the second print; the
    # ``except IOError, e:`` is parenthesized (parse.py), not left out
    assert notes[0].reason.startswith("read in part: 5 line(s)")
    assert "(lines 7, 8, 9, 12, 16)" in notes[0].reason


def test_salvage_gives_up_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    source = "def f():\n    print 1\n    print 2\n    print 3\n"
    with pytest.raises(SyntaxError) as refused:
        compile(source, "f.py", "exec")
    monkeypatch.setattr(salvage, "MAX_DROPS", 2)
    assert salvage.salvage(source, refused.value, lambda _text, _exc: None) is None
    monkeypatch.setattr(salvage, "MAX_DROPS", 3)
    saved = salvage.salvage(source, refused.value, lambda _text, _exc: None)
    assert saved is not None
    assert saved.dropped == (2, 3, 4)
    assert saved.source == "def f():\n    pass\n    pass\n    pass\n"


def test_a_reached_module_that_cannot_be_read_is_asked_for_and_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(salvage, "MAX_DROPS", 0)  # nothing salvaged: the full read fails
    advice = advise_files(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/helpers.py": "def helper():\n    print 'x'\n",  # an outline reads it
            "proj/tasks.py": """
            from celery import shared_task
            from proj.helpers import helper

            @shared_task
            def a():
                helper()
            """,
        },
    )
    assert [s.path for s in advice.skipped] == ["proj/helpers.py"]
    assert advice.skipped[0].reason.startswith("syntax error at line 2")


def test_a_broken_definition_is_not_left_out() -> None:
    source = "import os\n\ndef f(:\n    return os.getcwd()\n"
    with pytest.raises(SyntaxError) as refused:
        compile(source, "f.py", "exec")
    assert salvage.salvage(source, refused.value, lambda _text, _exc: None) is None
