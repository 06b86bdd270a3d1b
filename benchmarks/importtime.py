"""How much ``import celery_poolkit`` costs, next to importing celery and gevent.

Issue 4's budget: ``python -X importtime -c "import celery_poolkit"`` adds at most 20 ms
over importing celery and gevent. Each measurement is a fresh interpreter with
``-X importtime``; the figure is the cumulative time of the named module's row, the
median of ``--runs`` runs (bounded: at most 50 runs, 60 s per run).

    python benchmarks/importtime.py            # table + ratios, exit 1 over budget
    python benchmarks/importtime.py --runs 21 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

BUDGET_MS = 20.0

#: (label, statement, module whose cumulative row is measured)
CASES = (
    ("celery", "import celery", "celery"),
    ("gevent", "import gevent", "gevent"),
    ("celery_poolkit alone", "import celery_poolkit", "celery_poolkit"),
    ("celery_poolkit after celery+gevent", "import celery, gevent, celery_poolkit",
     "celery_poolkit"),
    ("celery_poolkit.bootstrap (patch's code)", "import celery_poolkit.bootstrap",
     "celery_poolkit.bootstrap"),
    ("celery_poolkit.autopatch, no green pool", "import celery_poolkit.autopatch",
     "celery_poolkit.autopatch"),
)  # fmt: skip


def cumulative_ms(statement: str, module: str) -> float:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            return int(parts[1]) / 1000.0
    raise SystemExit(f"{module} not found in -X importtime output of {statement!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per case (1-50)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 50))
    medians = {}
    for label, statement, module in CASES:
        samples = [cumulative_ms(statement, module) for _ in range(runs)]
        medians[label] = statistics.median(samples)
    base = medians["celery"] + medians["gevent"]
    added = medians["celery_poolkit after celery+gevent"]
    result = {
        "python": sys.version.split()[0],
        "runs": runs,
        "median_ms": {k: round(v, 2) for k, v in medians.items()},
        "celery_plus_gevent_ms": round(base, 2),
        "added_over_celery_and_gevent_ms": round(added, 2),
        "ratio_added_to_celery_plus_gevent": round(added / base, 4),
        "budget_ms": BUDGET_MS,
        "within_budget": max(added, medians["celery_poolkit alone"]) <= BUDGET_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"Python {result['python']}, median of {runs} runs (cumulative -X importtime)")
        for label, ms in medians.items():
            print(f"  {label:<42} {ms:8.2f} ms")
        print(f"  added over celery+gevent: {added:.2f} ms = {added / base:.2%} of "
              f"{base:.1f} ms (budget {BUDGET_MS:.0f} ms)")  # fmt: skip
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
