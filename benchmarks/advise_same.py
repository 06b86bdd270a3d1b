"""Whether two builds of poolkit give the same advice, byte for byte, on every checkout.

    python benchmarks/advise_same.py CHECKOUTS --before PYTHON --after PYTHON [--jobs N]

``PYTHON`` is an interpreter with a build of poolkit installed (a venv's ``bin/python``:
one editable-installed from the old commit, one from the new). Each runs ``poolkit
advise <checkout> --format json`` on every folder of CHECKOUTS (e.g. the
``<owner>+<name>`` checkouts of advisor_eval/README.md), each run with an empty cache,
and the two reports must be equal. Made for changes that must not change the advice
(speed work): exit 0 when every report is the same, 1 when one differs (the first
differing line is printed), 2 when a run fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def report(python: str, checkout: Path, jobs: int, cores: int) -> bytes:
    with tempfile.TemporaryDirectory(prefix="poolkit-same-") as cache:
        out = Path(cache) / "advice.json"
        done = subprocess.run(
            [python, "-m", "celery_poolkit", "advise", str(checkout), "--format", "json",
             "--fail-on", "never", "--jobs", str(jobs), "--cores", str(cores), "-o", str(out)],
            env={**os.environ, "POOLKIT_CACHE_DIR": cache},
            cwd=cache,  # not a checkout: `-m` puts the working directory on sys.path
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"{python} on {checkout.name}: exit {done.returncode}\n{done.stderr}")
        return out.read_bytes()


def first_difference(before: bytes, after: bytes) -> str:
    old, new = before.decode().splitlines(), after.decode().splitlines()
    for number, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if a != b:
            return f"line {number}:\n  - {a[:200]}\n  + {b[:200]}"
    return f"one report is longer ({len(old)} vs {len(new)} lines)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", type=Path)
    parser.add_argument("--before", required=True, help="Python with the old build")
    parser.add_argument("--after", required=True, help="Python with the new build")
    parser.add_argument("--jobs", type=int, default=1, help="poolkit advise --jobs")
    parser.add_argument("--cores", type=int, default=2, help="poolkit advise --cores")
    args = parser.parse_args()
    folders = sorted(p for p in args.checkouts.resolve().iterdir() if p.is_dir())
    differ = 0
    for checkout in folders:
        before = report(args.before, checkout, args.jobs, args.cores)
        after = report(args.after, checkout, args.jobs, args.cores)
        if before == after:
            print(f"same     {checkout.name} ({len(after):,} bytes)")
            continue
        differ += 1
        print(f"DIFFERS  {checkout.name}: {first_difference(before, after)}")
    print(f"{len(folders)} checkouts, {differ} with different advice")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
