"""The content-hash cache: facts per file, keyed by the hash of the file's bytes.

Two pickle files per analysed root under ``POOLKIT_CACHE_DIR`` (default
``~/.cache/celery-poolkit``): the facts of every file, and the last advice with the
key of everything it came from (file hashes, config, knowledge). An unchanged project only
hashes its files and loads the small one. Each file is loaded once and rewritten once,
with only the entries this run used, so it never grows past the project's size. A
missing, corrupt or unwritable cache only costs speed: every failure falls back to "no
cache".
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

#: Bump when ModuleFacts or the visitor change meaning, so old entries are not reused.
FORMAT = 8


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
    """A dict persisted as one pickle; ``get``/``put`` during a run, ``save`` at the end."""

    def __init__(self, folder: Path, root: Path, kind: str = "facts") -> None:
        tag = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
        version = f"{sys.version_info[0]}{sys.version_info[1]}"
        code = code_fingerprint()
        self.file = folder / f"advise-{tag}-{kind}-f{FORMAT}-{code}-py{version}.pickle"
        self.old: dict[str, object] = {}
        self.new: dict[str, object] = {}
        try:
            with self.file.open("rb") as stream:
                loaded = pickle.load(stream)
            if isinstance(loaded, dict):
                self.old = loaded
        except (
            OSError,
            pickle.UnpicklingError,
            EOFError,
            AttributeError,
            ImportError,
            TypeError,
            ValueError,
        ):
            self.old = {}

    def get(self, key: str) -> object | None:
        value = self.old.get(key)
        if value is not None:
            self.new[key] = value
        return value

    def put(self, key: str, value: object) -> None:
        self.new[key] = value

    def save(self) -> None:
        if self.new == self.old:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".advise-")
            with os.fdopen(fd, "wb") as stream:
                pickle.dump(self.new, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.file)  # atomic: a concurrent run sees old or new, not half
        except OSError:
            return
