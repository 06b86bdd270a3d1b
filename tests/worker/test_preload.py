"""The keeper's preload of what its children import after the fork (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from celery_poolkit.worker import preload
from celery_poolkit.worker.preload import (
    IMPORTED_NAME,
    MAX_BYTES,
    Preloaded,
    imported_since,
    preloadable,
    take_imported,
    write_imported,
)
from celery_poolkit.worker.recycle import RECYCLES_ENV


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wave", True),
        ("encodings.idna", True),
        ("gevent.threadpool", True),
        ("celery.worker.strategy", True),
        ("shop.tasks", False),  # the app's own modules: their import may connect
        ("antigravity", False),  # stdlib, but its import opens a browser
        ("__main__", False),
        ("os; import x", False),
        ("", False),
        ("celery..x", False),
    ],
)
def test_preloadable_takes_stdlib_and_the_tables_packages_only(name: str, expected: bool) -> None:
    assert preloadable(name) is expected


def test_imported_since_lists_new_preloadable_modules_sorted() -> None:
    before = {"os", "sys"}
    now = ["os", "sys", "wave", "shop.tasks", "gevent.threadpool", "gevent"]
    assert imported_since(before, now) == ["gevent", "gevent.threadpool", "wave"]


def test_names_round_trip_and_the_file_is_taken_once(tmp_path: Path) -> None:
    write_imported(str(tmp_path), ["wave", "encodings.idna"])
    assert take_imported(str(tmp_path)) == ["wave", "encodings.idna"]
    assert not (tmp_path / IMPORTED_NAME).exists()
    assert take_imported(str(tmp_path)) == []
    write_imported(str(tmp_path), [])  # nothing new: no file
    assert not (tmp_path / IMPORTED_NAME).exists()
    write_imported("", ["wave"])  # no keeper directory: nothing, no error


def test_a_damaged_file_gives_only_valid_names_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / IMPORTED_NAME
    path.write_bytes(b"wave\nshop.tasks\n\xff\xfe\nos; rm\nantigravity\ncolorsys")
    assert take_imported(str(tmp_path)) == ["wave", "colorsys"]
    path.write_bytes(b"wave\n" * (MAX_BYTES // 5 + 1))
    assert take_imported(str(tmp_path)) == []
    assert not path.exists()


def test_preload_imports_what_is_missing_and_counts_failures() -> None:
    calls: list[str] = []

    def fake_import(name: str) -> None:
        calls.append(name)
        if name == "broken":
            raise ImportError(name)

    done = preload.preload(["os", "wave_not_here", "broken"], import_module=fake_import)
    assert done == Preloaded(imported=1, failed=1)
    assert calls == ["wave_not_here", "broken"]  # "os" is already imported


#: A keeper whose first child imports ``wave`` (stdlib) and ``userthing`` (the app's,
#: never preloaded) after the fork, is ready, then recycles; each child records which
#: of the two it had when it started.
KEEPER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from celery_poolkit.worker.fork_server import Keeper, announce_ready, announce_recycle
    from celery_poolkit.worker.recycle import RECYCLES_ENV

    out = Path(sys.argv[1])
    sys.path.insert(0, str(out))
    served = Keeper(backoff=0).serve()
    if served is not None:
        sys.exit(served.status)
    n = int(os.environ.get(RECYCLES_ENV, "0"))
    had = [m for m in ("wave", "userthing") if m in sys.modules]
    (out / f"modules-{n}").write_text(" ".join(had) or "-")
    if n == 0:
        import wave, userthing
        announce_ready()
        assert announce_recycle()
        os._exit(75)
    os._exit(0)
    """
)


def test_the_successor_inherits_what_its_predecessor_imported(tmp_path: Path) -> None:
    (tmp_path / "userthing.py").write_text("VALUE = 1\n")
    env = {k: v for k, v in os.environ.items() if k != RECYCLES_ENV}
    argv = [sys.executable, "-c", KEEPER, str(tmp_path)]
    proc = subprocess.run(argv, env=env, timeout=60, check=False)
    assert proc.returncode == 0
    assert (tmp_path / "modules-0").read_text() == "-"  # neither at the first fork
    assert (tmp_path / "modules-1").read_text() == "wave"  # the keeper imported it
