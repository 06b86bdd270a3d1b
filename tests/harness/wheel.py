"""The distribution as users get it: a wheel built from this checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def build_wheel(into: Path) -> Path:
    """Build this checkout's wheel (no dependencies) into ``into`` and return its path."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(into),
         str(REPO)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = into.glob("celery_poolkit-*.whl")
    return wheel
