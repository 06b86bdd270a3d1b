"""The distribution has one import namespace and tests run against what was installed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import celery_poolkit
from harness.wheel import the_wheel

REPO = Path(__file__).resolve().parents[1]
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib


def _configured() -> tuple[dict[str, str], set[str]]:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return setuptools["package-dir"], set(setuptools["packages"])


def test_every_package_directory_is_listed_in_pyproject() -> None:
    """setuptools cannot `find` packages through a package-dir mapping, so the list is
    explicit; this catches a new subpackage that would silently be left out of the wheel."""
    package_dir, listed = _configured()
    on_disk = set()
    for dotted, folder in package_dir.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            on_disk.add(".".join((dotted, *rel.parts)) if rel.parts else dotted)
    assert on_disk == listed


@pytest.mark.skipif(
    os.environ.get("POOLKIT_TEST_INSTALLED") != "1",
    reason="only meaningful under tox, which installs the built wheel",
)
def test_tests_import_the_installed_wheel_not_the_source_tree() -> None:
    import celery_poolkit.advisor
    import celery_poolkit.plugins

    installed = Path(celery_poolkit.__file__).resolve().parent
    assert installed != REPO / "celery_poolkit", installed
    assert "site-packages" in installed.parts, installed
    assert Path(celery_poolkit.advisor.__file__).resolve().parent == installed / "advisor"
    assert Path(celery_poolkit.plugins.__file__).resolve().parent == installed / "plugins"


def test_wheel_installs_only_the_celery_poolkit_namespace(tmp_path: Path) -> None:
    wheel = the_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"celery_poolkit"}
    assert "celery_poolkit/advisor/__init__.py" in names
    assert "celery_poolkit/plugins/__init__.py" in names
    assert "celery_poolkit/py.typed" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[celery.commands]\npoolkit = celery_poolkit.cli:poolkit" in text
    assert "[console_scripts]\npoolkit = celery_poolkit.cli:main" in text


def test_importing_celery_poolkit_loads_nothing_patching_must_precede() -> None:
    """`import celery_poolkit` is a safe first line: no celery, ssl, socket, threading."""
    code = (
        "import sys; before = set(sys.modules); import celery_poolkit; "
        "print(sorted(set(sys.modules) - before))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    loaded = set(eval(proc.stdout))
    forbidden = {"celery", "kombu", "ssl", "socket", "threading", "gevent", "eventlet", "click"}
    assert not {m for m in loaded if m.split(".")[0] in forbidden}, sorted(loaded)
    assert celery_poolkit.__name__ in loaded
