"""The distribution as users get it: a wheel built from this checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


#: What the wheel is built from (pyproject.toml's packages, readme and license).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "celery_poolkit", "advisor", "plugins")


def build_wheel(into: Path) -> Path:
    """Build this checkout's wheel (no dependencies) into ``into`` and return its path.

    From a copy of the sources: setuptools builds in the source tree's ``build/``, and two
    test runs at once (``scripts/test`` runs the unit environments two at a time) would
    trip over each other's files there."""
    source = into / "source"
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(into),
         str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    shutil.rmtree(source, ignore_errors=True)
    (wheel,) = into.glob("celery_poolkit-*.whl")
    return wheel


def the_wheel(into: Path) -> Path:
    """The wheel this tox environment installed (``$TOX_PACKAGE``), or one built into
    ``into`` when not under tox.

    Under ``scripts/test`` every environment installs one wheel built up front; building
    it again per test module cost each unit environment (and the extras test) a pip
    wheel run, 10-30 s on a busy machine, for the same files.
    """
    for name in os.environ.get("TOX_PACKAGE", "").split(os.pathsep):
        if name.endswith(".whl") and Path(name).name.startswith("celery_poolkit-"):
            return Path(name)
    return build_wheel(into)


if __name__ == "__main__":
    # scripts/test: build the wheel every tox environment installs, print its path.
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/harness/wheel.py OUTPUT_DIRECTORY")
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    print(build_wheel(out))
