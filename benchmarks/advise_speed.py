"""How fast ``poolkit advise`` is on a large real Celery project, relative to ``ast.parse``.

Runs side by side on the same files, in this order:

1. baseline: a bare single-process ``ast.parse`` of every ``.py`` file under PROJECT
   (read + parse, nothing else);
2. first: ``poolkit advise PROJECT --format json`` with an empty ``POOLKIT_CACHE_DIR``
   (no facts, no library results: what a first run on a new machine pays);
3. cold: the same on an empty cache that holds only the library results the first run
   stored (``libraries/``, shared by every project): a changed project on a machine
   that has advised before;
4. warm: the same command again, with the cache the first run filled.

Each is repeated ``--repeat`` times (median reported) and printed as a ratio to the
baseline, in wall time (the target: cold <= 0.6x, warm <= 0.15x; issue 11) and in CPU time
(user + system, the advisor's child processes included). The CPU ratio does not depend
on how busy the machine is; the wall ratio does, because the cold run needs both cores
free to parse in parallel while the baseline needs only one. The load average is
printed before and after so a busy machine shows in the record.

Getting a project (not committed; >= 500k lines), e.g. saleor::

    git clone --depth 1 https://github.com/saleor/saleor /tmp/saleor
    python benchmarks/advise_speed.py /tmp/saleor
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file() and not p.is_symlink())


def baseline(files: list[Path]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        try:
            ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return time.perf_counter() - start, time.process_time() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def newer_syntax(files: list[Path]) -> tuple[int, int, float, float]:
    """The fallback's cost: the files this Python's ``ast`` refuses but the advisor reads
    (syntax.py), as (files, lines, CPU s to read them in full, CPU s ``ast.parse`` takes
    per line on the files it accepts). In this process, libcst's import included."""
    from celery_poolkit.advisor.parse import analyse_one  # the benchmark's own checkout

    refused: list[tuple[Path, bytes]] = []
    accepted_lines, accepted_cpu = 0, 0.0
    for path in files:
        data = path.read_bytes()
        start = time.process_time()
        try:
            ast.parse(data)
        except SyntaxError:
            refused.append((path, data))
            continue
        except (ValueError, RecursionError, MemoryError):
            continue
        accepted_cpu += time.process_time() - start
        accepted_lines += data.count(b"\n")
    start = time.process_time()
    read = 0
    for path, data in refused:
        _, facts, _ = analyse_one(path.name, path.stem, False, data, "bench", True)
        read += facts is not None
    cpu = time.process_time() - start
    lines = sum(data.count(b"\n") for _, data in refused)
    return read, lines, cpu, accepted_cpu / max(1, accepted_lines)


def advise(project: Path, cache: Path, jobs: int | None = None) -> tuple[float, float]:
    env = {**os.environ, "POOLKIT_CACHE_DIR": str(cache)}
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery_poolkit",
            "advise",
            str(project),
            "--format",
            "json",
            "--fail-on",
            "never",
            "-o",
            os.devnull,
            *(["--jobs", str(jobs)] if jobs else []),
        ],
        env=env,
        # Not the repository: `-m` puts the working directory first on sys.path, and the
        # source tree's celery_poolkit/ would shadow the installed package (whose advisor/
        # and plugins/ are mapped in by package-dir).
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    elapsed, used = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"poolkit advise failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--jobs", type=int, help="poolkit advise --jobs (default: its own, the idle cores)"
    )
    args = parser.parse_args()
    args.project = args.project.resolve()  # the advise runs below use another cwd
    files = python_files(args.project)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(
        f"project: {args.project} ({len(files)} .py files, {lines:,} lines), "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    base: list[tuple[float, float]] = []
    first: list[tuple[float, float]] = []
    cold: list[tuple[float, float]] = []
    warm: list[tuple[float, float]] = []
    for _ in range(max(1, args.repeat)):
        base.append(baseline(files))
        with (
            tempfile.TemporaryDirectory(prefix="poolkit-bench-") as cache,
            tempfile.TemporaryDirectory(prefix="poolkit-bench-") as fresh,
        ):
            first.append(advise(args.project, Path(cache), args.jobs))
            if (Path(cache) / "libraries").is_dir():
                shutil.copytree(Path(cache) / "libraries", Path(fresh) / "libraries")
            cold.append(advise(args.project, Path(fresh), args.jobs))
            warm.append(advise(args.project, Path(cache), args.jobs))
    b_wall = statistics.median(w for w, _ in base)
    b_cpu = statistics.median(c for _, c in base)
    print(f"{'run':<32}{'wall s':>8}{'x parse':>9}{'target':>8}{'':>8}{'CPU s':>8}{'x parse':>9}")
    print(f"{'ast.parse, 1 process':<32}{b_wall:>8.2f}{1:>9.2f}{'':>16}{b_cpu:>8.2f}{1:>9.2f}")
    for name, runs, target in (("poolkit advise, first run", first, None),
                               ("poolkit advise, cold cache", cold, 0.6),
                               ("poolkit advise, warm cache", warm, 0.15)):  # fmt: skip
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        if target is None:  # reported, not judged: it pays for reading libraries once
            print(f"{name:<32}{wall:>8.2f}{wall / b_wall:>9.2f}{'':>16}"
                  f"{cpu:>8.2f}{cpu / b_cpu:>9.2f}")  # fmt: skip
            continue
        verdict = "ok" if wall / b_wall <= target else "MISSED"
        print(f"{name:<32}{wall:>8.2f}{wall / b_wall:>9.2f}{'<= ' + str(target):>8}"
              f"{verdict:>8}{cpu:>8.2f}{cpu / b_cpu:>9.2f}")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    read, lines, cpu, per_line = newer_syntax(files)
    if read:
        print(
            f"newer syntax: {read} files ({lines:,} lines) ast refuses, read in "
            f"{cpu:.2f} s CPU (libcst's import included), {cpu / lines / per_line:.0f}x "
            f"ast.parse per line"
        )


if __name__ == "__main__":
    main()
