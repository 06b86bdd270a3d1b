"""Bad files are reported in ``skipped`` with a reason; the rest is still advised."""

from __future__ import annotations

import json
import os
import subprocess
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


# --- Files that are not regular files: FIFOs, devices, /dev/zero under any name ---------
#: Names the advisor reads: a module, an extensionless script, deployment files, config
#: and the ignore file. Each gets a FIFO (a blocking open) or /dev/zero (an endless read).
HOSTILE_NAMES = ["proj/x.py", "run", "Procfile", "pyproject.toml", ".gitignore", "values.yaml"]


def _advise_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``poolkit advise`` in a child process: a hang fails this test, not the suite."""
    return subprocess.run(
        [sys.executable, "-m", "celery_poolkit", "advise", str(root), "--no-cache",
         "--format", "json", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=root.parent,
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_special_files_under_any_name_neither_hang_nor_fill_memory(
    tmp_path: Path, name: str, kind: str
) -> None:
    root = write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD})
    hostile = root / name
    if kind == "fifo":
        os.mkfifo(hostile)
    else:
        hostile.symlink_to("/dev/zero")
    proc = _advise_cli(root)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [t["name"] for t in report["tasks"]] == ["proj.tasks.ok"]
    if name.endswith(".py"):
        (skipped,) = report["skipped"]
        what = "a FIFO" if kind == "fifo" else "a character device"
        assert skipped == {"path": name, "reason": f"not a regular file: {what} (named pipe)"
                           if kind == "fifo" else f"not a regular file: {what}"}  # fmt: skip


def test_a_fifo_given_as_config_is_a_clear_error(tmp_path: Path) -> None:
    root = write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD})
    os.mkfifo(tmp_path / "fifo.toml")
    proc = _advise_cli(root, "--config", str(tmp_path / "fifo.toml"))
    assert proc.returncode == 2
    assert "not a regular file: a FIFO (named pipe)" in proc.stderr


def test_reading_stops_one_byte_past_the_limit(tmp_path: Path) -> None:
    from celery_poolkit.advisor.reading import Unreadable, read_bytes

    with pytest.raises(Unreadable, match="not a regular file: a character device"):
        read_bytes(Path("/dev/zero"), 10)
    # A /proc file is "regular" with size 0 whatever it holds: the read itself is bounded.
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(Unreadable, match="over the"):
        read_bytes(Path("/proc/self/status"), 10)
    (tmp_path / "small").write_bytes(b"x" * 10)
    assert read_bytes(tmp_path / "small", 10) == b"x" * 10
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(Unreadable, match="over the"):
        read_bytes(tmp_path / "big", 10)


# --- The cache is untrusted input ----------------------------------------------------------
def _cached_project(tmp_path: Path) -> tuple[Path, Path]:
    root = write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD})
    cache = tmp_path / "cache"
    advise(root, cache_dir=cache)
    assert list(cache.iterdir())
    return root, cache


def test_a_poisoned_cache_file_runs_no_code(tmp_path: Path) -> None:
    import pickle

    root, cache = _cached_project(tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    for file in cache.iterdir():  # whatever name the cache uses, every file is poisoned
        file.write_bytes(pickle.dumps({"x": Payload()}))
    assert [t.name for t in advise(root, cache_dir=cache).tasks] == ["proj.tasks.ok"]
    assert not marker.exists()


def test_a_bad_cache_entry_is_a_miss(tmp_path: Path) -> None:
    root, cache = _cached_project(tmp_path)
    expected = advise(root)
    for file in cache.iterdir():
        data = json.loads(file.read_text())
        for entry in data["entries"].values():
            # Wrong types deep inside: a task's location line, a module's import list.
            if entry.get("_") == "Advice":
                entry["tasks"][0]["location"]["line"] = "1; import os"
            else:
                entry["imports"] = [[1, 2, 3]]
        data["entries"]["junk"] = {"_": "os.system", "args": ["touch x"]}
        file.write_text(json.dumps(data))
    assert advise(root, cache_dir=cache) == expected
    assert advise(root, cache_dir=cache) == expected  # and the rewritten cache serves


@pytest.mark.parametrize(
    "text", ["", "{", "[" * 100_000, '{"poolkit-cache": 9, "entries": []}', "null"]
)
def test_a_corrupt_cache_file_is_a_miss(tmp_path: Path, text: str) -> None:
    root, cache = _cached_project(tmp_path)
    for file in cache.iterdir():
        file.write_text(text)
    assert [t.name for t in advise(root, cache_dir=cache).tasks] == ["proj.tasks.ok"]


def test_a_failed_cache_save_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    root = write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD})
    cache = tmp_path / "cache"
    assert [t.name for t in advise(root, cache_dir=cache).tasks] == ["proj.tasks.ok"]
    assert list(cache.iterdir()) == []


# --- Nothing of the analysed checkout is imported ---------------------------------------
def _planted(root: Path, marker: Path, names: list[str]) -> None:
    for name in names:
        (root / f"{name}.py").write_text(
            f"import pathlib\npathlib.Path({str(marker)!r}).joinpath({name!r}).touch()\n"
            "raise SystemExit('imported the project')\n"
        )


def test_python_m_does_not_import_the_checkouts_root_modules(tmp_path: Path) -> None:
    root = write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD})
    marker = tmp_path / "imported"
    marker.mkdir()
    _planted(root, marker, ["fnmatch", "hashlib", "shlex", "tomllib", "json", "tempfile"])
    proc = subprocess.run(
        [sys.executable, "-m", "celery_poolkit", "advise", ".", "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False, cwd=root,
        env={**os.environ, "POOLKIT_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert list(marker.iterdir()) == []
    assert proc.returncode == 0, proc.stderr
    assert [t["name"] for t in json.loads(proc.stdout)["tasks"]] == ["proj.tasks.ok"]


def test_plugins_from_the_checkouts_egg_info_need_an_opt_in(tmp_path: Path) -> None:
    root = write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": GOOD})
    marker = tmp_path / "imported"
    marker.mkdir()
    _planted(root, marker, ["evil_plugin"])
    info = root / "evil.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[celery_poolkit.plugins]\nevil = evil_plugin\n")

    (root / "pyproject.toml").write_text("[project]\nname = 'evil'\n")

    def run(path: str = str(root), *args: str) -> subprocess.CompletedProcess[str]:
        # PYTHONPATH: what an editable install (`pip install -e .`) of the checkout does.
        return subprocess.run(
            [sys.executable, "-m", "celery_poolkit", "advise", path, "--no-cache", *args],
            capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(root)},
        )  # fmt: skip

    proc = run()
    assert list(marker.iterdir()) == []
    assert proc.returncode == 0, proc.stderr
    assert "inside the analysed project: not imported" in proc.stderr
    proc = run(str(root / "proj"))  # a package below the checkout: still the checkout's
    assert list(marker.iterdir()) == []
    assert proc.returncode == 0, proc.stderr
    assert "plugin evil_plugin comes from" in proc.stderr
    assert "inside the analysed project: not imported" in proc.stderr
    proc = run(str(root), "--trust-project-plugins")  # the opt-in does what it says
    assert [p.name for p in marker.iterdir()] == ["evil_plugin"]


def test_the_cache_gives_back_exactly_what_it_was_given(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "shop"
    cache = tmp_path / "cache"
    expected = advise(example)
    assert advise(example, cache_dir=cache) == expected  # cold: fills both files
    assert advise(example, cache_dir=cache) == expected  # warm: the advice itself
    for file in cache.glob("*-result-*"):
        file.unlink()
    assert advise(example, cache_dir=cache) == expected  # the facts of every file


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
