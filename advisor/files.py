"""Which files to read: a walk of the given paths that cannot loop or crash.

Symlinked directories are followed once (a loop is reported, not walked forever), the
usual non-source folders and the project's tests are left out, and every file that is
left out for a reason a user may not expect lands in ``skipped``.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from celery_poolkit.advisor.reading import read_text
from celery_poolkit.model import Skipped

#: Folders never worth reading: tooling, environments, and code that never runs in a
#: worker (tests, the numbered files of Django migrations and Alembic's versions). The
#: rest of a ``migrations`` folder is read: projects keep data-migration tasks there
#: (``app/migrations/tasks/*.py``). ``[tool.poolkit] exclude`` replaces this list.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    ".env",
    "env",
    "node_modules",
    "__pycache__",
    "site-packages",
    "build",
    "dist",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "migrations/[0-9][0-9][0-9][0-9]_*.py",
    "*/migrations/[0-9][0-9][0-9][0-9]_*.py",
    "migrations/versions",
    "*/migrations/versions",
    "tests",
    "test",
    "testing",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "*.egg-info",
)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # relative to the root, forward slashes
    module: str
    is_package: bool


def find_root(paths: Iterable[Path]) -> Path:
    """The import root of ``paths``: the folder ``sys.path`` would hold to import them.

    It starts at the common folder of ``paths`` and goes up while that folder is a
    package (has ``__init__.py``, and is not a project's root: no ``pyproject.toml``,
    ``setup.py``, ``setup.cfg`` or ``.git``), so ``poolkit advise shop/`` or ``shop/tasks.py`` names
    modules ``shop.tasks`` as the project does, and report paths are relative to it.
    """
    folders = [p if p.is_dir() else p.parent for p in (q.resolve() for q in paths)]
    root = Path(os.path.commonpath([str(f) for f in folders]))
    while _is_package(root) and root.parent != root:
        root = root.parent
    return root


#: Files that mark a project's own root: the walk up never leaves it, even when the
#: folder also holds an ``__init__.py`` (then the deployment scan would read siblings).
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def _is_package(folder: Path) -> bool:
    """A package to go above: it has ``__init__.py`` and is not a project's root."""
    if not (folder / "__init__.py").is_file():
        return False
    return not any(os.path.lexists(folder / marker) for marker in _PROJECT_MARKERS)


def context(paths: Iterable[Path], root: Path) -> tuple[list[Path], tuple[str, ...]]:
    """What to read for ``paths`` below the import ``root``, and which part to advise on.

    A path inside a package (``shop/tasks/images.py``) needs the rest of its top-level
    package to be understood: the app it imports, the settings that route its tasks. So
    the whole top-level package is read, and the returned focus (paths relative to the
    root) limits the advice to the tasks defined under the given paths. The focus is
    empty when the given paths are read whole anyway.
    """
    read: dict[Path, None] = {}
    focus: list[str] = []
    narrowed = False
    for path in paths:
        given = path.resolve()
        top = given if given.is_dir() else given.parent
        if not _is_package(top):
            top = given  # not inside a package: read what was given
        while _is_package(top.parent) and top.parent != top:
            top = top.parent
        read[top if top != given else path] = None
        rel = _rel(given, root)
        focus.append("" if rel == "." else rel)
        narrowed = narrowed or top != given
    return list(read), tuple(focus) if narrowed else ()


def in_focus(rel: str, focus: tuple[str, ...]) -> bool:
    """Whether the file ``rel`` is one the user asked about (everything when no focus)."""
    return not focus or any(f in ("", rel) or rel.startswith(f + "/") for f in focus)


def walk(
    paths: Iterable[Path], root: Path, exclude: tuple[str, ...]
) -> tuple[list[SourceFile], list[Skipped]]:
    skipped: list[Skipped] = []
    found: dict[str, Path] = {}
    ignore = _matcher(tuple(exclude) + _gitignore(root))
    seen_dirs: set[tuple[int, int]] = set()
    for given in paths:
        start = given.absolute()
        if start.is_file() or (start.is_symlink() and not start.is_dir()):
            found.setdefault(_rel(start, root), start)
            continue
        for file in _walk_dir(start, root, ignore, seen_dirs, skipped):
            found.setdefault(_rel(file, root), file)
    packages = {rel.rpartition("/")[0] for rel in found if rel.endswith("__init__.py")}
    names = {rel: _module_name(rel, packages) for rel in found}
    # Loose folders (no __init__.py) each start a module path, so two ``utils.py`` in
    # two script folders would be one module and one would be lost: name those by their
    # whole path instead, as namespace packages under the root.
    counts = Counter(module for module, _ in names.values())
    for rel, (module, is_package) in names.items():
        if counts[module] > 1:
            names[rel] = (_path_module(rel), is_package)
    files = [SourceFile(path, rel, *names[rel]) for rel, path in sorted(found.items())]
    return files, skipped


def _walk_dir(
    folder: Path,
    root: Path,
    ignore: re.Pattern[str],
    seen: set[tuple[int, int]],
    skipped: list[Skipped],
) -> Iterator[Path]:
    # An explicit stack, not recursion: a 1,000-level folder tree must not overflow.
    stack = [folder]
    while stack:
        for entry in _entries(stack.pop(), root, seen, skipped):
            if ignore.match(entry.name) or ignore.match(_rel(Path(entry.path), root)):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(Path(entry.path))
            elif entry.name.endswith(".py"):
                yield Path(entry.path)


def _entries(
    current: Path, root: Path, seen: set[tuple[int, int]], skipped: list[Skipped]
) -> list[os.DirEntry[str]]:
    """A folder's entries by name; none for a folder already read (a symlink loop) or
    one that cannot be read, which is reported."""
    try:
        stat = current.stat()
    except OSError as exc:
        skipped.append(Skipped(_rel(current, root), f"cannot read folder: {exc.strerror}"))
        return []
    key = (stat.st_dev, stat.st_ino)
    if key in seen:
        if current.is_symlink():
            skipped.append(Skipped(_rel(current, root), "symlink loop: folder already read"))
        return []
    seen.add(key)
    try:
        return sorted(os.scandir(current), key=lambda e: e.name)
    except OSError as exc:
        skipped.append(Skipped(_rel(current, root), f"cannot list folder: {exc.strerror}"))
        return []


def _matcher(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for all patterns: matching each pattern in turn is the walk's hot spot."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def _gitignore(root: Path) -> tuple[str, ...]:
    """The simple patterns of the root's ``.gitignore`` (no negations, no anchors)."""
    try:
        text = read_text(root / ".gitignore")
    except OSError:
        return ()
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        patterns.append(line.strip("/"))
    return tuple(patterns)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _path_module(rel: str) -> str:
    """The dotted name of ``rel`` counted from the root: ``scripts/a/utils.py`` is
    ``scripts.a.utils``."""
    parts = rel[:-3].split("/")
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _module_name(rel: str, packages: set[str]) -> tuple[str, bool]:
    """Dotted import name: the path below the highest folder that is not a package.

    ``src/shop/tasks/images.py`` with packages ``src/shop`` and ``src/shop/tasks`` is
    ``shop.tasks.images``: ``src`` is where ``sys.path`` would point.
    """
    parts = rel[:-3].split("/")
    is_package = parts[-1] == "__init__"
    folders = parts[:-1]
    start = len(folders)
    # A folder without ``__init__.py`` inside a package is a namespace package there
    # (PEP 420): ``app/agents/tools/mcp.py`` under package ``app/agents`` is imported as
    # ``app.agents.tools.mcp``.
    while start > 0 and (
        "/".join(folders[:start]) in packages
        or (start > 1 and "/".join(folders[: start - 1]) in packages)
    ):
        start -= 1
    name = folders[start:] + ([] if is_package else [parts[-1]])
    return ".".join(name) or parts[-1], is_package
