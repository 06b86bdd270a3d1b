"""Which pool a launch asks for: argv in every spelling click accepts, and the environment.

Celery's own early patching (``celery.maybe_patch_concurrency``) only recognises
``-P gevent``, ``--pool=gevent`` and ``--pool gevent``; click also accepts ``-Pgevent``,
clustered flags (``-EPgevent``) and ``CELERY_WORKER_POOL``, and those run a gevent pool
unpatched. This module reads all of them, without importing celery or click, so it can
run before anything that patching must precede.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from celery_poolkit.errors import PoolSelectionError
from celery_poolkit.model import Pool

# celery's global options (``celery -A app worker``) and the worker's own, as click
# declares them in celery 5.5-5.7. Knowing which options take a value is what lets a
# value like ``-n -P`` or ``-Q pool`` never be mistaken for the pool option.
GLOBAL_VALUE_OPTS = frozenset({"-A", "--app", "-b", "--broker", "--result-backend", "--loader",
                               "--config", "--workdir"})  # fmt: skip
GLOBAL_FLAG_OPTS = frozenset({"-C", "--no-color", "-q", "--quiet", "--skip-checks"})
_SHORT_WITH_VALUE = frozenset("AbnSlOcPQXIsf")
_LONG_WITH_VALUE = frozenset({
    "--hostname", "--statedb", "--loglevel", "--optimization", "--prefetch-multiplier",
    "--concurrency", "--pool", "--time-limit", "--soft-time-limit", "--max-tasks-per-child",
    "--pool-start-method", "--max-memory-per-child", "--queues", "--exclude-queues",
    "--include", "--heartbeat-interval", "--autoscale", "--schedule-filename", "--schedule",
    "--scheduler", "--logfile", "--pidfile", "--uid", "--gid", "--umask", "--executable",
}) | GLOBAL_VALUE_OPTS  # fmt: skip

ENV_POOL = "CELERY_WORKER_POOL"
ENV_CUSTOM_POOL = "CELERY_CUSTOM_WORKER_POOL"


@dataclass(frozen=True, slots=True)
class PoolChoice:
    """A pool and where it was found, e.g. ``Pool.GEVENT`` from ``argv -Pgevent``.

    ``pool`` is None for a custom pool class poolkit does not know (nothing is patched).
    """

    pool: Pool | None
    source: str
    raw: str

    def describe(self) -> str:
        name = self.pool.value if self.pool else f"custom pool {self.raw!r}"
        return f"{name} (from {self.source})"


def options(argv: Sequence[str]) -> Iterator[tuple[str, str | None, str]]:
    """Each option in ``argv`` as ``(name, value, spelling)``; ``value`` is None for flags.

    The one reading of a ``celery ... worker`` command line: the launcher, ``patch()``
    and the advisor's deployment scan (Procfiles, compose files, ...) all use it.

    >>> [(n, v) for n, v, _ in options(["-A", "shop", "worker", "-EPgevent", "-Q", "a,b"])]
    [('-A', 'shop'), ('-E', None), ('-P', 'gevent'), ('-Q', 'a,b')]

    Follows click's rules: a short-option cluster is flags followed by at most one option
    whose value is the rest of the cluster or the next argument; an option's value is
    never read as an option; ``--`` ends the options.
    """
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            return
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if (name in _LONG_WITH_VALUE or name == "--pool") and not eq:
                value = _value_after(argv, i, arg)
                i += 1
                yield name, value, f"{arg} {value}"
            else:
                yield name, value if eq else None, arg
        elif arg.startswith("-") and len(arg) > 1:
            for pos, char in enumerate(arg[1:], start=1):
                if char not in _SHORT_WITH_VALUE:
                    yield f"-{char}", None, arg
                    continue
                value = arg[pos + 1 :]
                spelling = arg
                if not value:
                    value = _value_after(argv, i, arg)
                    i += 1
                    spelling = f"{arg} {value}"
                yield f"-{char}", value, spelling
                break


def pool_values_in_argv(argv: Sequence[str]) -> list[tuple[str, str]]:
    """Every pool option in ``argv`` as ``(value, spelling)``, in order.

    >>> pool_values_in_argv(["-A", "shop", "worker", "-EPgevent", "-c", "20"])
    [('gevent', '-EPgevent')]
    >>> pool_values_in_argv(["worker", "--pool", "eventlet", "-n", "-P"])
    [('eventlet', '--pool eventlet')]
    """
    return [(value or "", spelling) for name, value, spelling in options(argv)
            if name in ("-P", "--pool")]  # fmt: skip


def detaches(worker_args: Sequence[str]) -> bool:
    """True when ``celery worker`` will ``--detach`` (``-D``, also inside a cluster)."""
    return any(name in ("-D", "--detach") for name, _, _ in options(worker_args))


def _value_after(argv: Sequence[str], i: int, option: str) -> str:
    if i >= len(argv):
        if option.startswith("--pool") or option.endswith("P"):
            raise PoolSelectionError(
                f"{option} needs a pool name: write e.g. `{option} gevent` "
                "(prefork, threads, gevent, eventlet or solo)"
            )
        return ""
    return argv[i]


def _parse(raw: str, source: str, environ: Mapping[str, str]) -> PoolChoice:
    if raw.strip().lower() == "custom":
        path = environ.get(ENV_CUSTOM_POOL, "")
        if not path:
            raise PoolSelectionError(
                f"{source} selects the 'custom' pool but {ENV_CUSTOM_POOL} is not set: set it "
                "to the pool class (module:Class), or pick a built-in pool"
            )
        try:
            return PoolChoice(Pool.parse(path), f"{source} + {ENV_CUSTOM_POOL}", path)
        except ValueError:
            return PoolChoice(None, f"{source} + {ENV_CUSTOM_POOL}", path)
    try:
        return PoolChoice(Pool.parse(raw), source, raw)
    except ValueError as exc:
        raise PoolSelectionError(f"{source}: {exc}") from None


def detect_pool(argv: Sequence[str], environ: Mapping[str, str]) -> PoolChoice | None:
    """The pool a worker launched with ``argv`` and ``environ`` will run, or None.

    argv wins over the environment in click, but when both name a pool and they differ
    the launch is ambiguous to a reader, so it is an error rather than a silent choice.
    """
    in_argv = pool_values_in_argv(argv)
    choices = [_parse(value, f"argv {spelling}", environ) for value, spelling in in_argv]
    if ENV_POOL in environ and environ[ENV_POOL].strip():
        choices.append(_parse(environ[ENV_POOL], f"{ENV_POOL}={environ[ENV_POOL]}", environ))
    if not choices:
        return None
    first = choices[0]
    for other in choices[1:]:
        if other.pool != first.pool or (other.pool is None and other.raw != first.raw):
            raise PoolSelectionError(
                f"conflicting pools: {first.describe()} but {other.describe()}; "
                "say it once (remove one of them)"
            )
    return first


def split_global_options(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``args`` into celery's global options and the rest, keeping their order.

    Celery 5 rejects ``celery worker -A app`` ("-A must come before worker"); the
    launcher accepts ``-A`` on either side of ``worker`` and moves it where celery wants it.

    >>> split_global_options(["-P", "gevent", "-A", "shop", "-c", "20", "--app=x"])
    (['-A', 'shop', '--app=x'], ['-P', 'gevent', '-c', '20'])
    """
    globals_: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.partition("=")[0]
        if arg == "--":
            rest.extend(args[i:])
            break
        if name in GLOBAL_VALUE_OPTS:
            takes_next = "=" not in arg and i + 1 < len(args)
            globals_.extend(args[i : i + 2] if takes_next else [arg])
            i += 2 if takes_next else 1
            continue
        if (arg.startswith("-A") and len(arg) > 2) or arg in GLOBAL_FLAG_OPTS:  # -Ashop
            globals_.append(arg)
        else:
            rest.append(arg)
            if (name in _LONG_WITH_VALUE and "=" not in arg and i + 1 < len(args)) or (
                _short_takes_next(arg) and i + 1 < len(args)
            ):
                rest.append(args[i + 1])
                i += 1
        i += 1
    return globals_, rest


def _short_takes_next(arg: str) -> bool:
    """True for a short-option cluster whose last option takes the next argument."""
    if not arg.startswith("-") or arg.startswith("--") or len(arg) < 2:
        return False
    for pos, char in enumerate(arg[1:], start=1):
        if char in _SHORT_WITH_VALUE:
            return pos == len(arg) - 1
    return False


def app_name(global_args: Sequence[str]) -> str | None:
    """The ``-A``/``--app`` value among celery's global options, if any."""
    for i, arg in enumerate(global_args):
        if arg in ("-A", "--app") and i + 1 < len(global_args):
            return global_args[i + 1]
        if arg.startswith("--app="):
            return arg.partition("=")[2]
        if arg.startswith("-A") and len(arg) > 2:
            return arg[2:]
    return None


def with_plain_pool_option(worker_args: Sequence[str], pool: Pool) -> list[str]:
    """``worker_args`` with every pool option replaced by one ``-P <pool>`` at the end.

    ``celery worker --detach`` re-executes ``python -m celery`` with the same arguments,
    and that fresh interpreter is patched only if Celery's own scan sees ``-P gevent``
    in that exact spelling. Used only when detaching.

    >>> with_plain_pool_option(["-EPgevent", "-c", "5", "--pool=gevent", "-D"], Pool.GEVENT)
    ['-E', '-c', '5', '-D', '-P', 'gevent']
    """
    out: list[str] = []
    i = 0
    while i < len(worker_args):
        arg = worker_args[i]
        i += 1
        if arg == "--":
            out.extend(worker_args[i - 1 :])
            break
        name, eq, _ = arg.partition("=")
        if name == "--pool":
            i += 0 if eq else 1
            continue
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            for pos, char in enumerate(arg[1:], start=1):
                if char in _SHORT_WITH_VALUE:
                    if char == "P":
                        kept = arg[:pos]
                        if pos == len(arg) - 1:
                            i += 1  # the value is the next argument
                        if kept != "-":
                            out.append(kept)
                        break
                    out.append(arg)
                    if pos == len(arg) - 1 and i < len(worker_args):
                        out.append(worker_args[i])
                        i += 1
                    break
            else:
                out.append(arg)
            continue
        out.append(arg)
        if name in _LONG_WITH_VALUE and not eq and i < len(worker_args):
            out.append(worker_args[i])
            i += 1
    return [*out, "-P", pool.value]
