"""Eval files with inline expectations, one per rule and decision (flake8-async style).

Each ``eval_files/*.py`` is copied to ``proj/tasks.py`` and advised on. Comments carry
what must come out:

* ``# expect: PK201`` on a line: a finding of that rule at that line (and only the
  expected findings appear);
* ``# expect-queue: NAME pool=P concurrency=C``: the queue's advice;
* ``# expect-elsewhere: PK302``: a finding located outside this file (the Procfile, a
  Windows script) or nowhere;
* ``# deploy: celery -A proj worker …``: a line of the project's Procfile
  (``# deploy-windows:`` writes it to ``run_worker.bat`` instead).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from advisor_helpers import advise_files

EVAL = Path(__file__).parent / "eval_files"
_EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")
_QUEUE = re.compile(r"#\s*expect-queue:\s*(\S+)((?:\s+\w+=\S+)*)")
_ELSEWHERE = re.compile(r"#\s*expect-elsewhere:\s*([A-Z0-9, ]+)")
_DEPLOY = re.compile(r"#\s*deploy(-windows)?:\s*(.+)$")


@pytest.mark.parametrize("path", sorted(EVAL.glob("*.py")), ids=lambda p: p.stem)
def test_eval_file(path: Path, tmp_path: Path) -> None:
    text = path.read_text()
    expected: set[tuple[str, int]] = set()
    queues: dict[str, dict[str, str]] = {}
    deploy: list[str] = []
    windows: list[str] = []
    elsewhere: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if m := _EXPECT.search(line):
            expected |= {(rule.strip(), number) for rule in m.group(1).split(",") if rule.strip()}
        if m := _QUEUE.search(line):
            queues[m.group(1)] = dict(kv.split("=", 1) for kv in m.group(2).split())
        if m := _ELSEWHERE.search(line):
            elsewhere |= {rule.strip() for rule in m.group(1).split(",") if rule.strip()}
        if m := _DEPLOY.search(line):
            (windows if m.group(1) else deploy).append(m.group(2))
    files = {"proj/__init__.py": "", "proj/tasks.py": text}
    if deploy:
        files["Procfile"] = "\n".join(f"worker{i}: {cmd}" for i, cmd in enumerate(deploy)) + "\n"
    if windows:
        files["run_worker.bat"] = "\n".join(windows) + "\n"
    advice = advise_files(tmp_path, files)
    found = {
        (f.rule, f.location.line)
        for f in advice.findings
        if f.location is not None and f.location.path == "proj/tasks.py"
    }
    assert found == expected, [(f.rule, f.location, f.message) for f in advice.findings]
    other = {
        f.rule for f in advice.findings if f.location is None or f.location.path != "proj/tasks.py"
    }
    assert other == elsewhere, [(f.rule, f.location, f.message) for f in advice.findings]
    by_name = {q.name: q for q in advice.queues}
    for name, want in queues.items():
        assert name in by_name, sorted(by_name)
        q = by_name[name]
        got = {
            "pool": q.pool.value,
            "concurrency": str(q.concurrency),
            "processes": str(q.processes),
            "confidence": q.confidence.value,
        }
        assert {k: got[k] for k in want} == want, q.reasons
    assert not advice.skipped


def test_a_mostly_waiting_queue_moves_its_cpu_task_to_prefork(tmp_path: Path) -> None:
    """The split goes the other way when most tasks wait: the GIL-bound task leaves."""
    text = (EVAL / "pk103_mixed_mostly_waiting.py").read_text()
    advice = advise_files(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": text})
    (queue,) = advice.queues
    assert queue.split is not None
    assert queue.split.new_queue == "reports_cpu"
    assert queue.split.pool.value == "prefork"
    assert [t.rsplit(".", 1)[1] for t in queue.split.tasks] == ["score"]
