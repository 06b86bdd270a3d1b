"""``--poolkit-recycle=fork``: the keeper imports what its children import after the fork.

The keeper forks at the poolkit step's ``__init__``; Celery's start-up after that point
still imports modules (the pool's thread pool and resolver on gevent, the consumer's
strategy, the ``idna`` codec for the host name...). Every successor would import them
again: ~5-10 ms of CPU per replacement, paid each time a worker recycles. So the first
child, once it consumes, writes the names of the modules it imported since the fork to
the keeper's directory (:func:`write_imported`), and the keeper imports them before it
forks the next child (:func:`take_imported`, :func:`preload`): they are then inherited.

Only modules whose import has no side effect a child could miss are taken: the standard
library and :data:`PRELOADABLE`'s packages, never the app's own modules (an import that
opens a connection or starts a thread in the keeper would leave every child with a
connection it shares or a thread it lacks). The keeper checks for threads afterwards
(:func:`celery_poolkit.worker.fork_server.blocking_reason`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: The file in the keeper's directory (``POOLKIT_FORK_DIR``) that carries the names.
IMPORTED_NAME = "imported.txt"
#: Besides the standard library: the packages Celery's worker start-up imports from,
#: whose modules only define things when imported.
PRELOADABLE = frozenset(
    {"amqp", "billiard", "celery", "celery_poolkit", "click", "dateutil", "gevent",
     "greenlet", "kombu", "redis", "vine"}
)  # fmt: skip
#: Bounds on what a child may hand the keeper (a damaged file must not cost the keeper).
MAX_NAMES = 1000
MAX_BYTES = 64 * 1024
#: Standard-library modules whose import does something (opens a browser, prints).
_NOT_PRELOADED = frozenset({"antigravity", "this", "__hello__", "__phello__"})
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


@dataclass(frozen=True, slots=True)
class Preloaded:
    """What :func:`preload` did: modules imported, and names whose import failed."""

    imported: int
    failed: int


def preloadable(name: str) -> bool:
    """True for a module name from the standard library or :data:`PRELOADABLE`."""
    if not _DOTTED.match(name) or name.startswith("__main__"):
        return False
    top = name.partition(".")[0]
    if top in _NOT_PRELOADED:
        return False
    return top in PRELOADABLE or top in sys.stdlib_module_names


def imported_since(before: Iterable[str], modules: Iterable[str] | None = None) -> list[str]:
    """The preloadable module names in ``modules`` (default: ``sys.modules``) that are
    not in ``before``, sorted (a package before its submodules)."""
    seen = set(before)
    current = list(sys.modules if modules is None else modules)
    return sorted(n for n in current if n not in seen and preloadable(n))[:MAX_NAMES]


def write_imported(directory: str, names: list[str]) -> None:
    """Side effect: ``names`` in ``directory`` for the keeper (nothing when empty).
    Written to a temporary name, then renamed: the keeper never reads half a file.
    Never raises: a child's start-up goes on."""
    if not directory or not names:
        return
    path = os.path.join(directory, IMPORTED_NAME)
    with contextlib.suppress(OSError):
        with open(f"{path}.{os.getpid()}", "w", encoding="ascii") as stream:
            stream.write("\n".join(names))
        os.replace(f"{path}.{os.getpid()}", path)


def take_imported(directory: str) -> list[str]:
    """The names a child left in ``directory`` (the file is removed); a file too big,
    unreadable or with names :func:`preloadable` refuses gives only the valid ones."""
    path = os.path.join(directory, IMPORTED_NAME)
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError:
        return []
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    if len(data) > MAX_BYTES:
        return []
    names = data.decode("ascii", errors="replace").split("\n")
    return [n for n in names if preloadable(n)][:MAX_NAMES]


def preload(
    names: Iterable[str], import_module: Callable[[str], Any] = importlib.import_module
) -> Preloaded:
    """Side effect: import ``names`` that are not imported yet; a failing import is
    counted and skipped (the child will meet it, as without the preload)."""
    imported = failed = 0
    for name in names:
        if name in sys.modules:
            continue
        try:
            import_module(name)
        except Exception:  # any import error: leave it to the child, as without preload
            failed += 1
        else:
            imported += 1
    return Preloaded(imported, failed)
