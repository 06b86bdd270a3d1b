#!/usr/bin/env python3
"""Run the pool benchmark: ``python benchmarks/pools/run.py [--quick] [--only …]``.

See benchmarks/README.md. Needs Linux, Debian's redis-server and PostgreSQL 15 (as for
``scripts/test``), and ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The suite's own package, the benchmark's Celery app (for calibration) and the repo's
# test harness (servers, workers).
for path in (HERE, HERE / "app", HERE.parent.parent / "tests"):
    sys.path.insert(0, str(path))

from poolbench.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
