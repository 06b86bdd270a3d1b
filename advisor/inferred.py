"""Effects inferred where no table speaks: libraries without one, settings, and names.

Every row made here says it was inferred and how (its note starts with ``inferred``),
and inferred evidence never makes a queue's confidence ``high`` (decide.py).

* **A library without a table.** A call into a third-party package no plugin describes
  is classified from that package's own installed source, with the advisor's own engine:
  its files are read (never imported), the function is resolved and its effects are
  summarised against the plugins' tables (``somesdk.Client.send`` -> ``requests.post``
  -> network IO). Results are cached per distribution and version, in JSON, in the
  advisor's cache folder, so every project that uses the library shares them. A package
  too large to read within the budget, or not installed where poolkit runs, is judged by
  what it depends on (its metadata, or the project's ``poetry.lock`` / ``uv.lock``): a
  package built on an HTTP client is network IO, one on a database driver database IO.
  With neither (a checkout without its lock file), a package named as an extension of a
  client (``requests_hardened``, ``redis_lock``) is judged as that client.
* **Settings.** ``EMAIL_BACKEND`` decides what Django's mail functions do (the ``django``
  table's ``EMAIL_BACKENDS``).
* **Commands.** ``call_command("name")`` runs the project's ``Command.handle`` in
  ``<app>/management/commands/name.py``.
* **Names.** ``request.db.query(...)`` / ``self.session.commit()`` on a value of unknown
  class reads like a SQLAlchemy session (the ``sqlalchemy`` table's ``SESSION_NAMES``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from celery_poolkit.advisor.conventions import NOTE
from celery_poolkit.advisor.facts import CallSite, EnvV, Lit, ModuleFacts, Value
from celery_poolkit.advisor.knowledge import Knowledge
from celery_poolkit.model import Call, Effect, Green

if TYPE_CHECKING:  # project.py imports knowledge, which this module extends
    from celery_poolkit.advisor.project import Project

#: Reading a package's source is bounded: bigger packages are judged by their dependencies.
MAX_FILES = 400
MAX_BYTES = 8 * 1024 * 1024
#: Bump when what is stored per library changes meaning.
FORMAT = 2

# Which effect wins when a library function does several things: the one that decides
# a pool first.
_PRIORITY = (
    Effect.GPU,
    Effect.CPU,
    Effect.CPU_CHILD,
    Effect.CPU_RELEASES_GIL,
    Effect.DB_IO,
    Effect.NET_IO,
    Effect.SUBPROCESS,
    Effect.FILE_IO,
    Effect.SLEEP,
    Effect.BROKER_IO,
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


# --- settings ---------------------------------------------------------------------------
def configured_rows(facts: Iterable[ModuleFacts]) -> list[Call]:
    """Rows that the project's settings imply: Django's mail calls follow
    ``EMAIL_BACKEND`` (a literal or an environment variable's default).

    Projects keep several settings modules (common, local, test). A backend that does no
    IO (console, locmem, dummy) is a development or test setting and never applies; the
    others apply only when they agree (``common.py`` says SMTP and ``local.py`` console:
    SMTP; one module says post_office and another SMTP: the default stays).
    """
    from celery_poolkit.plugins.django import EMAIL_BACKENDS, MAIL_CALLS

    chosen: dict[Effect, tuple[str, str]] = {}
    for module in facts:
        for name, value in module.assigns:
            backend = _literal(value) if name == "EMAIL_BACKEND" else ""
            matches = [
                row
                for row in EMAIL_BACKENDS
                if backend == row[0] or backend.startswith(f"{row[0]}.")
            ]
            if backend and matches:
                _, effect, what = max(matches, key=lambda row: len(row[0]))
                if effect is not None:
                    chosen.setdefault(effect, (backend, what))
    if len(chosen) != 1:
        return []
    ((effect, (backend, what)),) = chosen.items()
    note = f"{NOTE} from EMAIL_BACKEND = {backend!r}: {what}"
    return [Call(name, effect, Green.SAFE_AFTER_PATCH, note=note) for name in MAIL_CALLS]


def _literal(value: Value) -> str:
    if isinstance(value, Lit) and isinstance(value.value, str):
        return value.value
    if isinstance(value, EnvV) and value.default is not None:
        return _literal(value.default)
    return ""


def with_settings(knowledge: Knowledge, facts: Iterable[ModuleFacts]) -> Knowledge:
    """``knowledge`` plus the rows the settings imply (a new index; the same one if none)."""
    rows = configured_rows(facts)
    if not rows:
        return knowledge
    every = [*knowledge.exact.values(), *knowledge.prefix.values(), *rows]
    if isinstance(knowledge, InferringKnowledge):
        return InferringKnowledge(every, knowledge.libraries)
    return Knowledge(every)


# --- libraries without a table ------------------------------------------------------------
class InferringKnowledge(Knowledge):
    """Knowledge that, for a third-party name no table covers, asks :class:`Libraries`."""

    def __init__(self, calls: Iterable[Call], libraries: Libraries) -> None:
        super().__init__(calls)
        self.libraries = libraries

    def lookup(self, qualname: str) -> Call | None:
        found = super().lookup(qualname)
        if found is not None:
            return found
        memo = self.libraries.memo
        if qualname not in memo:
            memo[qualname] = self.libraries.row(qualname)
        return memo[qualname]


class Libraries:
    """Classifies calls into packages no table describes; one per run.

    ``described`` are the top-level modules the tables cover (never inferred);
    ``folder`` is where per-library results persist (None: memory only); ``root`` is the
    analysed project, whose lock file names dependencies of packages not installed here.
    """

    def __init__(
        self, calls: Iterable[Call], described: Iterable[str], folder: Path | None, root: Path
    ) -> None:
        self.rows = list(calls)
        self.described = set(described)
        self.folder = folder
        self.root = root
        self.memo: dict[str, Call | None] = {}
        self._packages: dict[str, _Package | None] = {}
        self._locked: dict[str, list[str]] | None = None
        self._distributions: dict[str, list[str]] | None = None

    def row(self, qualname: str) -> Call | None:
        top = qualname.partition(".")[0]
        if (
            not top
            or "." not in qualname
            or top in self.described
            or top in sys.stdlib_module_names
            or top in sys.builtin_module_names
            or top in ("builtins", "__future__")
        ):
            return None
        package = self._package(top)
        if package is None:
            return None
        return package.row(qualname, self)

    def _package(self, top: str) -> _Package | None:
        if top not in self._packages:
            self._packages[top] = _Package.find(top, self)
        return self._packages[top]

    def save(self) -> None:
        """Persist what this run learnt about each library (once, at the end)."""
        for package in self._packages.values():
            if package is not None:
                package.save()

    def distributions(self, top: str) -> list[str]:
        """The installed distributions providing ``top`` (scanned once per run)."""
        if self._distributions is None:
            try:
                self._distributions = dict(importlib.metadata.packages_distributions())
            except (OSError, ValueError):
                self._distributions = {}
        return self._distributions.get(top, [])

    @staticmethod
    def dependency_effects() -> dict[str, Effect]:
        """Clients and drivers: what depending on them means (``plugins/_dependencies``)."""
        from celery_poolkit.plugins._dependencies import CLIENTS

        return CLIENTS

    def locked_dependencies(self) -> dict[str, list[str]]:
        """Dependencies per package, from the project's ``poetry.lock`` / ``uv.lock``."""
        if self._locked is None:
            self._locked = _read_locks(self.root, self.folder)
        return self._locked


class _Package:
    """One third-party distribution: its files (when installed) and its stored results."""

    def __init__(  # noqa: PLR0917 - built in one place, find()
        self,
        top: str,
        dist: str,
        version: str,
        files: list[Path],
        requires: list[str],
        libraries: Libraries,
    ) -> None:
        self.top = top
        self.dist = dist
        self.version = version
        self.files = files
        self.requires = requires
        self.libraries = libraries
        self.results: dict[str, list[str]] = {}  # qualname -> [effect, green, how]
        self.dirty = False
        self._project: Project | None = None
        self._read = False  # the source is read at most once per run
        self._load()

    @classmethod
    def find(cls, top: str, libraries: Libraries) -> _Package | None:
        origin = _origin(top)
        if origin is not None:
            dist, version, requires = _metadata(libraries.distributions(top))
            files = _source_files(origin)
            return cls(top, dist or top, version or "0", files, requires, libraries)
        locked = libraries.locked_dependencies()
        for dist, requires in locked.items():
            if _normal(dist).replace("-", "_") == top.lower():
                return cls(top, dist, "locked", [], requires, libraries)
        client = _extended_client(top, libraries.dependency_effects())
        if client:
            return cls(top, top, "named", [], [client], libraries)
        return None

    # -- persistence (JSON, never pickle: a cache file must not be able to run code) ----
    def _path(self) -> Path | None:
        folder = self.libraries.folder
        if folder is None:
            return None
        name = _SAFE_NAME.sub("_", f"{self.dist}-{self.version}")[:120]
        return folder / "libraries" / f"{name}-f{FORMAT}.json"

    def _load(self) -> None:
        path = self._path()
        data = _load_json(path) if path is not None else None
        if isinstance(data, dict) and isinstance(data.get("calls"), dict):
            for name, value in data["calls"].items():
                valid = isinstance(value, list) and len(value) == 3
                if isinstance(name, str) and valid and all(isinstance(v, str) for v in value):
                    self.results[name] = value

    def save(self) -> None:
        path = self._path()
        if path is None or not self.dirty:
            return
        _store_json(path, {"dist": self.dist, "version": self.version, "calls": self.results})
        self.dirty = False

    # -- classification ------------------------------------------------------------------
    def row(self, qualname: str, libraries: Libraries) -> Call | None:
        if qualname not in self.results:
            self.results[qualname] = self._classify(qualname)
            self.dirty = True
        effect, green, how = self.results[qualname]
        if not effect:
            return None
        return Call(qualname, Effect(effect), Green(green), note=f"{NOTE} {how}")

    def _classify(self, qualname: str) -> list[str]:
        from_source = self._from_source(qualname)
        if from_source is not None:
            return from_source
        return self._from_dependencies()

    def _from_source(self, qualname: str) -> list[str] | None:
        """The called function's effects through the package's own code, or None when
        the source cannot say (not installed, too big, or the name is not found)."""
        project = self._source_project()
        if project is None:
            return None
        from celery_poolkit.advisor import effects

        targets = list(project.targets(CallSite(qualname, 0)))
        roots = [t.name for t in targets if t.kind == "func"]
        direct = [t.call for t in targets if t.kind == "lib" and t.call is not None]
        if not roots and not direct:
            return None
        summaries = effects.summarize(project, roots)
        kinds: dict[str, str] = {}
        for root in roots:
            for kind, ev in summaries.get(root, {}).items():
                if not _heuristic(ev.call):
                    kinds.setdefault(kind, ev.call)
        for row in direct:
            if row.effect is not None:
                kinds.setdefault(row.effect.value, row.qualname)
        effect = next((e for e in _PRIORITY if e.value in kinds), None)
        if effect is None:
            return ["", "", f"from {self.dist} {self.version}'s source: no effect"]
        how = f"from {self.dist} {self.version}'s source: reaches {kinds[effect.value]}"
        return [effect.value, _green_of(effect, kinds).value, how]

    def _source_project(self) -> Project | None:
        if not self._read:
            self._read = True
            self._project = _read_package(self.top, self.files, self.libraries.rows)
        return self._project

    def _from_dependencies(self) -> list[str]:
        known = self.libraries.dependency_effects()
        hits = [(name, known[_normal(name)]) for name in self.requires if _normal(name) in known]
        for effect in (Effect.DB_IO, Effect.NET_IO):
            names = [name for name, e in hits if e is effect]
            if names:
                what = "a database driver" if effect is Effect.DB_IO else "a network client"
                if self.version == "named":
                    how = f"from {self.dist}'s name: an extension of {names[0]} ({what})"
                else:
                    how = f"from {self.dist}'s dependencies: it depends on {names[0]} ({what})"
                return [effect.value, Green.SAFE_AFTER_PATCH.value, how]
        return ["", "", f"from {self.dist}'s dependencies: none known"]


def _read_package(top: str, files: list[Path], rows: list[Call]) -> Project | None:
    """A Project over the package's own source (outline and bodies), or None."""
    from celery_poolkit.advisor.parse import analyse_one
    from celery_poolkit.advisor.project import Project

    facts: list[ModuleFacts] = []
    # site-packages (or wherever ``top`` lives): module names are paths below it.
    first = files[0] if files else Path()
    root = first.parent.parent if first.name == "__init__.py" else first.parent
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        parts = list(rel.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        module = ".".join(parts)
        _, result, _ = analyse_one(rel.as_posix(), module, is_package, data, "", True)
        if result is not None:
            facts.append(result)
    return Project(facts, Knowledge(rows)) if facts else None


def _origin(top: str) -> Path | None:
    """Where the top-level module ``top`` is installed, found without importing it."""
    try:
        module = sys.modules.get(top)
        spec = module.__spec__ if module is not None else importlib.util.find_spec(top)
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    origin = Path(spec.origin)
    return origin if origin.suffix == ".py" else None


def _source_files(origin: Path) -> list[Path]:
    """The package's ``.py`` files, ``__init__`` first, if within the budget; else []."""
    if origin.name != "__init__.py":
        return [origin]
    found: list[Path] = [origin]
    size = 0
    for path in sorted(origin.parent.rglob("*.py")):
        inside = path.relative_to(origin.parent).parts
        if path == origin or "tests" in inside or "test" in inside:
            continue
        try:
            size += path.stat().st_size
        except OSError:
            continue
        found.append(path)
        if len(found) > MAX_FILES or size > MAX_BYTES:
            return []
    return found


def _metadata(names: list[str]) -> tuple[str, str, list[str]]:
    """(distribution, version, required distributions) of the first of ``names``."""
    if not names:
        return "", "", []
    try:
        dist = importlib.metadata.distribution(names[0])
    except (importlib.metadata.PackageNotFoundError, OSError, ValueError):
        return "", "", []
    requires = [_requirement_name(r) for r in (dist.requires or []) if "extra ==" not in r]
    return dist.metadata["Name"] or names[0], dist.version or "0", [r for r in requires if r]


#: Name parts of packages that stand in for a client in tests rather than extend it.
_NOT_AN_EXTENSION = frozenset(
    {"mock", "mocks", "fake", "fakes", "stub", "stubs", "test", "testing"}
)


def _extended_client(top: str, clients: dict[str, Effect]) -> str:
    """The client a package is named as an extension of, or "".

    The last resort for a package neither installed nor locked (a checkout without its
    lock file): extensions are named after what they extend (``requests_hardened``,
    ``requests_oauthlib``, ``httpx_auth``, ``redis_lock``), so the first part of the name
    says which client its calls end in. Test doubles (``requests_mock``) are not.
    """
    parts = top.lower().split("_")
    if len(parts) < 2 or _NOT_AN_EXTENSION.intersection(parts):
        return ""
    return parts[0] if parts[0] in clients else ""


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return match.group(1) if match else ""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_locks(root: Path, folder: Path | None) -> dict[str, list[str]]:
    """Package -> its dependencies, from ``poetry.lock`` or ``uv.lock`` at the root.

    A big lock file takes ~0.3 s to parse (saleor's uv.lock), so what it says is kept in
    ``folder`` as JSON, keyed by the file's hash.
    """
    found: dict[str, list[str]] = {}
    for name in ("poetry.lock", "uv.lock"):
        path = root / name
        try:
            if not path.is_file() or path.stat().st_size > 16 * 1024 * 1024:
                continue
            raw = path.read_bytes()
        except OSError:
            continue
        digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
        stored = folder / "libraries" / "locks" / f"{digest}-f{FORMAT}.json" if folder else None
        cached = _load_json(stored) if stored is not None else None
        if isinstance(cached, dict) and all(
            isinstance(v, list) and all(isinstance(d, str) for d in v) for v in cached.values()
        ):
            found.update(cached)
            continue
        parsed = _parse_lock(raw)
        found.update(parsed)
        if stored is not None:
            _store_json(stored, parsed)
    return found


def _parse_lock(raw: bytes) -> dict[str, list[str]]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    found: dict[str, list[str]] = {}
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return found
    for package in data.get("package", []) if isinstance(data, dict) else []:
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            continue
        deps = package.get("dependencies", {})
        if isinstance(deps, dict):  # poetry: {name: constraint}
            names = [str(k) for k in deps]
        elif isinstance(deps, list):  # uv: [{name = ...}]
            names = [str(d.get("name")) for d in deps if isinstance(d, dict) and d.get("name")]
        else:
            names = []
        found[package["name"]] = names
    return found


def _load_json(path: Path) -> object:
    """What a stored JSON file holds, or None (missing, unreadable, not JSON)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _store_json(path: Path, data: object) -> None:
    """Write atomically; a folder that cannot be written only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
    except OSError:
        pass


def _heuristic(call: str) -> bool:
    """Evidence a library's own loops give (``python: …``): not the library's effect.

    A loop inside a library runs over what the caller hands it, most often one small
    value (a date string parsed, a header split), and the caller's size is not visible
    there. Only table rows and IO reached in the library's source speak for it."""
    return call.startswith("python:")


def _green_of(effect: Effect, kinds: dict[str, str]) -> Green:
    """The green verdict of a library function whose deciding effect is ``effect``:
    CPU is safe (it never blocks the hub by waiting), else the worst verdict reached."""
    if effect in (Effect.CPU, Effect.CPU_RELEASES_GIL, Effect.GPU):
        return Green.SAFE
    for verdict in (Green.BLOCKS_HUB, Green.NEEDS_ADAPTER):
        if verdict.value in kinds:
            return verdict
    return Green.SAFE_AFTER_PATCH
