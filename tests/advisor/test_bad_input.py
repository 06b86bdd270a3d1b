"""Bad files are reported in ``skipped`` with a reason; the rest is still advised."""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from advisor_helpers import APP, advise, knowledge, write

from celery_poolkit.advisor import effects
from celery_poolkit.advisor import parse as parse_module
from celery_poolkit.advisor.knowledge import Knowledge
from celery_poolkit.advisor.project import Project
from celery_poolkit.advisor.visitor import module_facts

GOOD = APP + "\n@app.task\ndef ok():\n    import time\n    time.sleep(1)\n"


def _reasons(root: Path) -> dict[str, str]:
    advice = advise(root)
    assert [t.name for t in advice.tasks] == ["proj.tasks.ok"]  # the good file still counts
    return {s.path: s.reason for s in advice.skipped}


def test_each_kind_of_bad_file_is_skipped_with_a_reason(tmp_path: Path) -> None:
    root = write(
        tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD, "proj/broken.py": "def f(:\n"}
    )
    (root / "proj/nul.py").write_bytes(b"x = 1\0\n")
    (root / "proj/latin.py").write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xff\xfe'\n")
    (root / "proj/image.py").write_bytes(bytes(range(256)) * 4)
    (root / "proj/deep.py").write_text("x = " + "(" * 300 + "1" + ")" * 300 + "\n")
    (root / "proj/long.py").write_text("x = " + " + ".join(["1"] * 200_000) + "\n")
    (root / "proj/dangling.py").symlink_to(root / "missing.py")
    os.symlink(root / "proj", root / "proj" / "loop")
    reasons = _reasons(root)
    assert reasons["proj/broken.py"].startswith("syntax error at line 1")
    assert "NUL" in reasons["proj/nul.py"]
    assert reasons["proj/latin.py"].startswith("cannot decode")
    assert "NUL" in reasons["proj/image.py"]
    assert "nested" in reasons["proj/deep.py"] or "syntax error" in reasons["proj/deep.py"]
    # A 200,000-term expression is one left-nested BinOp: analysed, or reported as too deep.
    assert "nested" in reasons.get("proj/long.py", "nested")
    assert "broken symlink" in reasons["proj/dangling.py"]
    assert reasons["proj/loop"] == "symlink loop: folder already read"


def test_huge_files_are_skipped_not_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_module, "MAX_FILE_BYTES", 1000)
    root = write(
        tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD, "proj/big.py": "x = 1\n" * 500}
    )
    assert "over the" in _reasons(root)["proj/big.py"]


def test_thousands_of_tasks_in_one_module(tmp_path: Path) -> None:
    body = APP + "".join(
        f"\n@app.task(queue='q{i % 3}')\ndef t{i}():\n    pass\n" for i in range(3000)
    )
    root = write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": body})
    advice = advise(root)
    assert len(advice.tasks) == 3000
    assert sorted(q.name for q in advice.queues) == ["q0", "q1", "q2"]


PEP758 = (
    APP
    + """
import requests

@app.task
def fetch():
    try:
        requests.get("https://example.com")
    except ValueError, TypeError:
        pass
    return 1
"""
)


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="3.14 parses PEP 758 natively")
def test_python_314_except_without_parentheses_is_read_lines_kept(tmp_path: Path) -> None:
    root = write(tmp_path, {"proj/__init__.py": "", "proj/fetch.py": PEP758})
    advice = advise(root)
    assert not advice.skipped
    (task,) = advice.tasks
    assert task.kind == "io"
    written = (root / "proj/fetch.py").read_text().splitlines()
    line = next(n for n, text in enumerate(written, 1) if "requests.get" in text)
    assert [e.location.line for e in task.evidence if e.kind == "net_io"] == [line]


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="3.14 parses PEP 758 natively")
def test_newer_syntax_that_cannot_be_rewritten_says_which_python_reads_it(tmp_path: Path) -> None:
    broken = "try:\n    pass\nexcept A, B:\n    pass\ndef f(:\n"
    root = write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD, "proj/new.py": broken})
    reason = _reasons(root)["proj/new.py"]
    assert reason.startswith("syntax error at line 3: multiple exception types")
    assert "needs Python 3.14 syntax; run poolkit advise under Python >= 3.14" in reason


def test_the_rewrite_touches_only_unparenthesized_except_lists() -> None:
    source = (
        "try:\n    x()\nexcept A, B:\n    pass\nexcept (C, D) as e:\n    pass\n"
        "except E, F as e:\n    pass\nexcept* G, H.I:\n    pass\nd = {'except': [1, 2]}\n"
    )
    rewritten = parse_module._parenthesize_excepts(source)
    assert rewritten == source.replace("except A, B:", "except (A, B):").replace(
        "except* G, H.I:", "except* (G, H.I):"
    )
    assert parse_module._parenthesize_excepts("try:\n    x()\nexcept A:\n    pass\n") is None


def _chain_of_classes(count: int) -> str:
    lines = ["class C0:\n    def work(self):\n        import time\n        time.sleep(1)\n"]
    lines += [f"class C{i}(C{i - 1}):\n    pass\n" for i in range(1, count)]
    return "\n".join(lines)


def test_a_990_class_inheritance_chain_is_reported_not_a_crash(tmp_path: Path) -> None:
    # Project.mro recursed once per level: 990 levels raised RecursionError.
    root = write(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": GOOD,
            "proj/deep.py": _chain_of_classes(990),
        },
    )
    reasons = _reasons(root)
    assert "class hierarchy deeper than" in reasons["proj/deep.py"]


def test_a_5000_class_chain_is_analysed_in_bounded_time(tmp_path: Path) -> None:
    # Each class's order was built with list lookups over its whole chain: minutes.
    root = write(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/tasks.py": GOOD + "\nfrom proj.deep import C4999\n\n@app.task\n"
            "def deep():\n    C4999().work()\n",
            "proj/deep.py": _chain_of_classes(5000),
        },
    )
    start = time.process_time()
    advice = advise(root)
    assert time.process_time() - start < 30  # CPU seconds: load on the machine cannot move it
    assert {t.name for t in advice.tasks} == {"proj.tasks.ok", "proj.tasks.deep"}
    assert "proj/deep.py" in {s.path for s in advice.skipped}


def test_a_deep_call_chain_keeps_one_witness_chain_per_effect() -> None:
    # summarize kept every function's full chain per effect: memory quadratic in depth
    # (3.4 GB at 40,000 levels). One pointer per effect keeps it linear.
    depth = 5000
    source = APP + "import time\n\n@app.task\ndef top():\n    f0()\n\n"
    source += "".join(f"def f{i}():\n    f{i + 1}()\n\n" for i in range(depth))
    source += f"def f{depth}():\n    time.sleep(1)\n"
    facts = module_facts(source, "proj/tasks.py", "proj.tasks", is_package=False)
    project = Project([facts], Knowledge(knowledge()))
    tracemalloc.start()
    try:
        summaries = effects.summarize(project, ["proj.tasks.top"])
        (evidence,) = summaries["proj.tasks.top"].values()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(evidence.via) == depth + 2  # top, f0 … f5000: the whole witness chain
    assert evidence.via[-1] == f"proj.tasks.f{depth}"
    assert peak < 40 * 1024 * 1024, peak  # quadratic: ~200 MB at this depth
