"""The content-hash cache: facts per file, keyed by the hash of the file's bytes.

Two JSON files per analysed root under ``POOLKIT_CACHE_DIR`` (default
``~/.cache/celery-poolkit``): the facts of every file, and the last advice with the
key of everything it came from (file hashes, config, knowledge). An unchanged project only
hashes its files and loads the small one. Each file is loaded once and rewritten once,
with only the entries this run used, so it never grows past the project's size. A
missing, corrupt or unwritable cache only costs speed: every failure falls back to "no
cache".

The cache directory is often shared (a CI cache restored on every run), so its files are
untrusted input: JSON, never pickle, decoded by :mod:`.serial` into the advisor's own
frozen types with every field's type checked. Reading it cannot run code, and an entry
that does not fit is a miss.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from celery_poolkit.advisor import serial
from celery_poolkit.advisor.reading import read_bytes

#: Bump when ModuleFacts or the visitor change meaning, so old entries are not reused.
FORMAT = 10
#: A cache file larger than this is ignored (a miss), not read into memory.
MAX_CACHE_BYTES = 512 * 1024 * 1024


@functools.cache
def code_fingerprint() -> str:
    """A hash of the advisor's own source and the shared model.

    Part of every cache file's name: advice cached by one poolkit must not be served by
    another (an upgrade, or a development checkout), even when FORMAT was not bumped.
    About twenty small files; read once per process.
    """
    digest = hashlib.blake2b(digest_size=8)
    here = Path(__file__).resolve().parent
    sources = [*sorted(here.rglob("*.py")), here.parent / "model.py"]
    for path in sources:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(str(path).encode())
    return digest.hexdigest()


def default_dir() -> Path:
    configured = os.environ.get("POOLKIT_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "celery-poolkit"


class Cache:
    """A dict persisted as one JSON file; ``get``/``put`` during a run, ``save`` at the end.

    ``kind`` names the file ("facts", "result") and ``hint`` is the type every value must
    have. Entries are checked one by one when first asked for: one bad entry is a miss,
    not a crash, and the rest of the file still serves.
    """

    def __init__(self, folder: Path, root: Path, kind: str, hint: Any) -> None:
        tag = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
        version = f"{sys.version_info[0]}{sys.version_info[1]}"
        code = code_fingerprint()
        self.file = folder / f"advise-{tag}-{kind}-f{FORMAT}-{code}-py{version}.json"
        self.hint = hint
        self.old: dict[str, Any] = _read(self.file)  # key -> JSON data, checked on get()
        self.new: dict[str, Any] = {}

    def get(self, key: str) -> object | None:
        data = self.old.get(key)
        if data is None:
            return None
        try:
            value: object = serial.load(self.hint, data)
        except (serial.Invalid, RecursionError):
            del self.old[key]  # a bad entry is a miss, and is not written back
            return None
        self.new[key] = data
        return value

    def put(self, key: str, value: object) -> None:
        self.new[key] = serial.dump(value)

    def save(self) -> None:
        """Write the entries this run used, atomically; any failure leaves no trace."""
        if self.new == self.old:
            return
        tmp = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".advise-", suffix=".tmp")
            text = json.dumps(
                {"poolkit-cache": FORMAT, "entries": self.new}, separators=(",", ":")
            )  # one string: json.dump writes in small pieces, 4x slower on a large cache
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(tmp, self.file)  # atomic: a concurrent run sees old or new, not half
            tmp = None
        except (OSError, ValueError):
            return
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _read(file: Path) -> dict[str, Any]:
    """The entries of a cache file, or none for anything that is not one of ours."""
    try:
        data = json.loads(read_bytes(file, MAX_CACHE_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("poolkit-cache") != FORMAT:
        return {}
    entries = data.get("entries")
    if not isinstance(entries, dict):
        return {}
    return entries
