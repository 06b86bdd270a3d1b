"""``[tool.poolkit]`` in pyproject.toml: per-queue overrides, knowledge, rule selection.

Reading is strict: an unknown key or a wrong type is a :class:`ConfigError` that names
the key and what it accepts, because a silently ignored typo in CI config is worse than
a failed run. See ``docs/configuration.rst`` for the reference.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery_poolkit.advisor.decide import Override
from celery_poolkit.advisor.files import DEFAULT_EXCLUDE
from celery_poolkit.advisor.reading import Unreadable, read_bytes
from celery_poolkit.errors import ConfigError
from celery_poolkit.model import Call, Effect, Green, Hazard, Pool, Severity

#: PostgreSQL's default ``max_connections``: the PK308 budget unless
#: ``[tool.poolkit] db-max-connections`` says otherwise.
DEFAULT_DB_BUDGET = 100

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_KEYS = frozenset(
    {
        "select",
        "ignore",
        "exclude",
        "extend-exclude",
        "queues",
        "knowledge",
        "cores",
        "app",
        "fail-on",
        "db-max-connections",
    }
)
_CALL_KEYS = frozenset({"qualname", "effect", "green", "hazards", "returns", "note"})
_QUEUE_KEYS = frozenset({"pool", "concurrency", "processes"})


@dataclass(frozen=True, slots=True)
class AdvisorConfig:
    select: tuple[str, ...] = ("PK",)
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    queues: tuple[tuple[str, Override], ...] = ()
    knowledge: tuple[Call, ...] = ()
    cores: int | None = None
    app: str | None = None
    fail_on: Severity | None = Severity.ERROR
    #: PK308: PostgreSQL connections one host's workers may open (its max_connections).
    db_max_connections: int = DEFAULT_DB_BUDGET
    source: str = ""  # the file the settings came from, for messages
    extra: dict[str, Any] = field(default_factory=dict)

    def override(self, queue: str) -> Override | None:
        return dict(self.queues).get(queue)

    def enabled(self, rule: str) -> bool:
        if any(rule.startswith(p) for p in self.ignore):
            return False
        return any(rule.startswith(p) for p in self.select)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


#: A pyproject.toml larger than this is not read (it is a config file, not data).
MAX_CONFIG_BYTES = 4 * 1024 * 1024
#: Upper bounds that catch a typo (an extra zero or ten) before it is printed as advice.
MAX_CORES = 4096
MAX_CONCURRENCY = 100_000  # -c: greenlets per worker process
MAX_PROCESSES = 4096  # worker processes per host
MAX_DB_CONNECTIONS = 262_143  # PostgreSQL's own ceiling for max_connections


def load(path: Path | None) -> AdvisorConfig:
    if path is None:
        return AdvisorConfig()
    try:
        data = tomllib.loads(read_bytes(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except Unreadable as exc:
        raise ConfigError(f"cannot read {path}: {exc.reason}; check the --config path") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}; check the --config path") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the file") from exc
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply; fix the file") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: 'tool' must be a table ([tool.poolkit]), not {tool!r}")
    return parse(tool.get("poolkit", {}), str(path))


def parse(section: Any, source: str = "[tool.poolkit]") -> AdvisorConfig:
    where = f"{source} [tool.poolkit]"
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(section) - _KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(_KEYS))}"
        )
    exclude = _strings(section, "exclude", where, DEFAULT_EXCLUDE)
    exclude += _strings(section, "extend-exclude", where, ())
    cores = section.get("cores")
    if cores is not None:
        cores = _whole(cores, f"{where}: cores", MAX_CORES, "the cores of one worker host")
    db_max = _whole(
        section.get("db-max-connections", DEFAULT_DB_BUDGET),
        f"{where}: db-max-connections",
        MAX_DB_CONNECTIONS,
        "the PostgreSQL connections one host's workers may open",
    )
    app = section.get("app")
    if app is not None and not isinstance(app, str):
        raise ConfigError(f"{where}: app must be a string like 'proj' or 'proj.celery:app'")
    return AdvisorConfig(
        select=tuple(s.upper() for s in _strings(section, "select", where, ("PK",))),
        ignore=tuple(s.upper() for s in _strings(section, "ignore", where, ())),
        exclude=exclude,
        queues=_queues(section.get("queues", {}), where),
        knowledge=tuple(_call(row, where) for row in _rows(section.get("knowledge", []), where)),
        cores=cores,
        app=app,
        fail_on=parse_fail_on(section.get("fail-on", "error"), where),
        db_max_connections=db_max,
        source=source,
    )


def _whole(value: Any, key: str, high: int, what: str) -> int:
    """``value`` as a whole number in 1..high, or a ConfigError naming ``key`` and the fix."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ConfigError(f"{key} must be a whole number from 1 to {high:,} ({what}), not {shown}")
    return value


def parse_fail_on(value: Any, where: str = "--fail-on") -> Severity | None:
    if value == "never":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return Severity(value)
    except ValueError:
        raise ConfigError(
            f"{where}: fail-on must be one of error, warning, info, never; not {value!r}"
        ) from None


def _strings(
    section: dict[str, Any], key: str, where: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    value = section.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _rows(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(
            f"{where}: knowledge must be an array of tables ([[tool.poolkit.knowledge]])"
        )
    return value


def _call(row: dict[str, Any], where: str) -> Call:
    unknown = set(row) - _CALL_KEYS
    if unknown or "qualname" not in row:
        raise ConfigError(
            f"{where}: each knowledge row needs qualname and may have "
            f"{', '.join(sorted(_CALL_KEYS - {'qualname'}))}; got {', '.join(sorted(row))}"
        )
    qualname = row["qualname"]
    if not isinstance(qualname, str) or not qualname:
        raise ConfigError(f"{where}: knowledge qualname must be a dotted name, not {qualname!r}")
    here = f"{where}: knowledge row {qualname!r}"
    for key in ("effect", "green", "returns", "note"):
        if key in row and not isinstance(row[key], str):
            raise ConfigError(f"{here}: {key} must be a string, not {row[key]!r}")
    hazards = row.get("hazards", [])
    if not isinstance(hazards, list) or not all(isinstance(h, str) for h in hazards):
        raise ConfigError(f"{here}: hazards must be a list of strings, not {hazards!r}")
    try:
        effect = Effect(row["effect"]) if row.get("effect") else None
        green = Green(row.get("green", Green.SAFE_AFTER_PATCH.value))
        hazard_set = frozenset(Hazard(h) for h in hazards)
    except ValueError as exc:
        raise ConfigError(
            f"{here}: {exc}; effects are "
            f"{', '.join(e.value for e in Effect)}; green is one of "
            f"{', '.join(g.value for g in Green)}; hazards are {', '.join(h.value for h in Hazard)}"
        ) from None
    return Call(qualname, effect, green, hazard_set, row.get("returns", ""), row.get("note", ""))


def _queues(value: Any, where: str) -> tuple[tuple[str, Override], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: queues must be a table of [tool.poolkit.queues.<name>]")
    out = []
    for name, row in value.items():
        if not isinstance(row, dict) or set(row) - _QUEUE_KEYS:
            raise ConfigError(
                f"{where}: [tool.poolkit.queues.{name}] accepts {', '.join(sorted(_QUEUE_KEYS))}"
            )
        table = f"{where}: queues.{name}"
        pool_name = row.get("pool")
        if pool_name is not None and not isinstance(pool_name, str):
            raise ConfigError(f"{table}.pool must be a pool name like 'gevent', not {pool_name!r}")
        try:
            pool = Pool.parse(pool_name) if pool_name is not None else None
        except ValueError as exc:
            raise ConfigError(f"{table}.pool: {exc}") from None
        numbers = {}
        for key, high, what in (
            ("concurrency", MAX_CONCURRENCY, "the worker's -c"),
            ("processes", MAX_PROCESSES, "worker processes per host"),
        ):
            number = row.get(key)
            numbers[key] = None if number is None else _whole(number, f"{table}.{key}", high, what)
        out.append((str(name), Override(pool, numbers["concurrency"], numbers["processes"])))
    return tuple(out)
