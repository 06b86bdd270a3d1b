"""The advisor never imports celery, gevent or the user's code; the cache is transparent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from advisor_helpers import APP, advise, task_module, write

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


def test_advising_imports_no_celery_gevent_or_user_code(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "proj/__init__.py": "raise SystemExit('imported!')\n",
            "proj/tasks.py": APP + "\n@app.task\ndef t():\n    pass\n",
        },
    )
    # A copy of the example beside it: the two paths' common folder is the project root,
    # whose deployment files the advisor reads. With the example in place that folder
    # would be "/" and the scan would walk /tmp (and block on another process's FIFO).
    shop = tmp_path / "shop"
    shutil.copytree(EXAMPLE, shop, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    code = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from celery_poolkit.advisor import analyze\n"
        f"advice = analyze([Path({str(root)!r}), Path({str(shop)!r})], cache=False)\n"
        "print(json.dumps([len(advice.tasks), sorted(sys.modules), advice.root]))\n"
    )
    # From a scratch folder: the repository's own celery_poolkit/ must not shadow the
    # installed package (whose advisor/ is mapped into it).
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    count, modules, read_under = json.loads(proc.stdout)
    assert count == 12
    assert read_under == str(tmp_path)  # never a parent of the test's own folder
    forbidden = {
        "celery",
        "kombu",
        "gevent",
        "eventlet",
        "proj",
        "shop",
        "requests",
        "PIL",
        "psycopg2",
        "billiard",
    }
    assert not {m for m in modules if m.split(".")[0] in forbidden}


def test_warm_run_reads_the_cache_and_gives_the_same_advice(tmp_path: Path) -> None:
    root = task_module(
        tmp_path,
        """
import time

@app.task
def t():
    time.sleep(1)
""",
    )
    cache = tmp_path / "cache"
    cold = advise(root, cache_dir=cache)
    assert sorted(p.name.split("-")[2] for p in cache.iterdir()) == ["facts", "result"]
    warm = advise(root, cache_dir=cache)
    assert warm == cold
    (root / "proj/tasks.py").write_text(APP + "\n@app.task\ndef t():\n    pass\n")
    changed = advise(root, cache_dir=cache)
    assert changed.tasks[0].effects == ()  # a content change is seen at once
    for path in cache.iterdir():
        path.write_bytes(b"not a pickle")
    assert advise(root, cache_dir=cache).tasks[0].effects == ()  # a corrupt cache is ignored


def test_the_report_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    outputs = set()
    for seed in ("1", "2", "3"):
        proc = subprocess.run(
            [sys.executable, "-m", "celery_poolkit", "advise", str(EXAMPLE), "--no-cache",
             "--format", "json", "--cores", "2"],
            capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1
