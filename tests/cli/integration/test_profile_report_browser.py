"""``poolkit profile report``'s page in a real headless Chromium (Debian's ``chromium``):
no console errors, and the screenshot the docs show (docs/_static/profile-report.png).

``POOLKIT_UPDATE_PICTURES=1`` writes the screenshot over the docs' copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from harness.workers import script

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "tests" / "cli" / "data" / "profile-bsapp.json"
PICTURE = REPO / "docs" / "_static" / "profile-report.png"
SIZE = (1200, 1100)
# Chromium's --enable-logging=stderr line for a console message:
#   [pid:tid:date:INFO:CONSOLE:3] "message", source: file:///…/page.html (3)
# (older versions: CONSOLE(3)).
CONSOLE = re.compile(r":CONSOLE[(:]\d+\)?\]|Uncaught|Failed to load resource")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: apt-get install chromium")
    return found


def _open(page: Path, screenshot: Path, tmp_path: Path) -> str:
    """Load ``page`` in headless Chromium with a fresh profile; its stderr log."""
    profile = tmp_path / f"chromium-{screenshot.stem}"
    done = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--hide-scrollbars", f"--window-size={SIZE[0]},{SIZE[1]}",
         f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert screenshot.exists(), done.stderr[-3000:]
    return done.stderr


def test_the_console_check_sees_an_error(tmp_path: Path) -> None:
    """The check below can fail: a page that logs an error is caught."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><p>x</p><script>console.error("poolkit-canary")</script>')
    log = _open(page, tmp_path / "broken.png", tmp_path)
    assert CONSOLE.search(log), log[-3000:]
    assert "poolkit-canary" in log


def test_the_report_opens_without_console_errors_and_is_the_docs_picture(tmp_path: Path) -> None:
    page = tmp_path / "profile.html"
    done = subprocess.run([script("poolkit"), "profile", "report", str(SAMPLE), "-o", str(page)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    shot = tmp_path / "profile-report.png"
    log = _open(page, shot, tmp_path)
    assert not CONSOLE.search(log), [line for line in log.splitlines() if CONSOLE.search(line)]
    with Image.open(shot) as image:
        assert image.size == SIZE
        # Something was drawn: the page is not one flat colour.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20
    if os.environ.get("POOLKIT_UPDATE_PICTURES") == "1":
        shutil.copyfile(shot, PICTURE)
    with Image.open(PICTURE) as docs_picture:
        assert docs_picture.size == SIZE  # the docs show this test's screenshot
