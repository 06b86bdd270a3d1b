"""How fast ``poolkit advise`` is on a large real Celery project, relative to ``ast.parse``.

Runs side by side on the same files, in this order:

1. baseline: a bare single-process ``ast.parse`` of every ``.py`` file under PROJECT
   (read + parse, nothing else);
2. cold: ``poolkit advise PROJECT --format json`` with an empty ``POOLKIT_CACHE_DIR``;
3. warm: the same command again, with the cache the cold run filled.

Each is repeated ``--repeat`` times (median reported) and printed as a ratio to the
baseline. Targets (issue 3): cold <= 0.5x, warm <= 0.1x.

Getting a project (not committed; >= 500k lines), e.g. saleor::

    git clone --depth 1 https://github.com/saleor/saleor /tmp/saleor
    python benchmarks/advise_speed.py /tmp/saleor
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file() and not p.is_symlink())


def baseline(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        try:
            ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return time.perf_counter() - start


def advise(project: Path, cache: Path) -> float:
    env = {**os.environ, "POOLKIT_CACHE_DIR": str(cache)}
    start = time.perf_counter()
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
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"poolkit advise failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = python_files(args.project)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(
        f"project: {args.project} ({len(files)} .py files, {lines:,} lines), "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    base, cold, warm = [], [], []
    for _ in range(max(1, args.repeat)):
        base.append(baseline(files))
        with tempfile.TemporaryDirectory(prefix="poolkit-bench-") as cache:
            cold.append(advise(args.project, Path(cache)))
            warm.append(advise(args.project, Path(cache)))
    b = statistics.median(base)
    print(f"{'run':<34}{'median s':>10}{'x ast.parse':>13}{'target':>9}")
    print(f"{'ast.parse, 1 process (baseline)':<34}{b:>10.2f}{1.0:>13.2f}{'':>9}")
    for name, runs, target in (
        ("poolkit advise, cold cache", cold, 0.5),
        ("poolkit advise, warm cache", warm, 0.1),
    ):
        m = statistics.median(runs)
        verdict = "ok" if m / b <= target else "MISSED"
        print(f"{name:<34}{m:>10.2f}{m / b:>13.2f}{'<= ' + str(target):>9} {verdict}")


if __name__ == "__main__":
    main()
