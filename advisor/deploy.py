"""How the project launches its workers today: ``celery … worker`` command lines.

Read from the deployment files real projects keep next to their code (Procfiles, shell
entrypoints, docker-compose, supervisord, systemd units, helm values, Kubernetes
manifests, Makefiles), with ``${VAR:-default}`` replaced by its default. Scripts without
an extension (s6/runit ``run``, ``docker-entrypoint``) are read when they start with a
shebang; YAML ``command:`` / ``args:`` lists are joined into one command line. The
advisor compares these with its advice (PK6xx) and checks them for pool feature
conflicts (PK3xx).
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from celery_poolkit.advisor.discovery import Setting
from celery_poolkit.advisor.reading import read_bytes, read_text
from celery_poolkit.advisor.values import Evaluator, FromEnv
from celery_poolkit.bootstrap.argv import options as argv_options
from celery_poolkit.errors import PoolSelectionError
from celery_poolkit.model import Location, Pool

_FILES = (
    "Procfile*",
    "*.sh",
    "*.bash",
    "docker-compose*.yml",
    "docker-compose*.yaml",
    "compose*.yml",
    "compose*.yaml",
    "*.conf",
    "*.ini",
    "*.service",
    "Dockerfile*",
    "Makefile",
    "*.mk",
    "values*.yaml",
    "values*.yml",
    "*.bat",
    "*.cmd",
    "*.ps1",
    "*.toml",
    "*.env",
)
_DEPLOY_FILE = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in _FILES))
#: Other YAML files are read only when they are Kubernetes manifests (``kind:``).
_YAML = (".yml", ".yaml")
_MAX_SCRIPT_BYTES = 64 * 1024  # an extensionless file larger than this is not a script
# Not deployments: tooling, environments, and docs/tests, whose command lines are examples.
_SKIP_DIRS = frozenset(
    {".git", "node_modules", ".tox", ".venv", "venv", "__pycache__", "docs", "tests", "test",
     "migrations", "static", "locale", "site-packages"}
)  # fmt: skip
_MAX_BYTES = 512 * 1024
_MAX_FILES = 2_000  # a bound on the walk; deployment files are few
_ENV_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}")
_ENV_BARE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")
_WINDOWS = (".bat", ".cmd", ".ps1")


#: The worker options a deployment's command line is read for, by option name.
_OPTION_FIELDS = {
    "-A": "app",
    "--app": "app",
    "-Q": "queues",
    "--queues": "queues",
    "-P": "pool",
    "--pool": "pool",
    "-c": "concurrency",
    "--concurrency": "concurrency",
    "--autoscale": "autoscale",
    "--time-limit": "time_limit",
    "--soft-time-limit": "soft_time_limit",
    "--max-tasks-per-child": "max_tasks_per_child",
    "--max-memory-per-child": "max_memory_per_child",
    "-B": "beat",
    "--beat": "beat",
}


#: The queue a worker without ``-Q`` consumes: Celery's default, and the name projects
#: commonly give it in ``task_default_queue``.
_DEFAULT_QUEUES = ("celery", "default")


@dataclass(frozen=True, slots=True)
class WorkerCommand:
    location: Location
    text: str
    queues: tuple[str, ...] = ()  # empty: the default queues
    app: str = ""  # the -A argument
    pool: Pool | None = None
    concurrency: str = ""
    autoscale: str = ""
    beat: bool = False
    time_limit: str = ""
    soft_time_limit: str = ""
    max_tasks_per_child: str = ""
    max_memory_per_child: str = ""
    windows: bool = False

    def consumes(self, queue: str) -> bool:
        """True when this worker consumes ``queue``: one of its ``-Q`` queues, or, with
        no ``-Q``, the default queue (``celery``, or ``default`` as projects name it)."""
        return queue in self.queues if self.queues else queue in _DEFAULT_QUEUES


def find_commands(root: Path) -> list[WorkerCommand]:
    found: list[WorkerCommand] = []
    seen = 0
    stack = [root]
    while stack and seen < _MAX_FILES:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in _SKIP_DIRS:
                    stack.append(entry)
                continue
            if not (
                _DEPLOY_FILE.match(entry.name)
                or entry.name.endswith(_YAML)
                or ("." not in entry.name and _is_script(entry))
            ):
                continue
            seen += 1
            found.extend(_commands_in(entry, root))
    return found


def _is_script(path: Path) -> bool:
    """An extensionless file that starts with a shebang (``run``, ``entrypoint``)."""
    try:
        return read_bytes(path, _MAX_SCRIPT_BYTES).startswith(b"#!")
    except OSError:  # unreadable, too big, or not a regular file (a FIFO, a device)
        return False


def _commands_in(path: Path, root: Path) -> list[WorkerCommand]:
    try:
        text = read_text(path, _MAX_BYTES)
    except OSError:
        return []
    if "celery" not in text or "worker" not in text:
        return []
    rel = path.relative_to(root).as_posix()
    yaml = path.name.endswith(_YAML)
    if yaml and not _DEPLOY_FILE.match(path.name) and not re.search(r"^kind:", text, re.M):
        return []  # a YAML file that is neither compose, helm values nor a manifest
    lines: dict[int, str] = {}
    if yaml:  # command:/args: lists first: they hold the whole command line
        lines.update(_yaml_command_lines(text.splitlines()))
    text = re.sub(r"\\\r?\n", " ", text)  # join shell line continuations
    for number, line in enumerate(text.splitlines(), start=1):
        lines.setdefault(number, line)
    out = []
    for number, line in sorted(lines.items()):
        if "celery" in line and "worker" in line and not line.lstrip().startswith("#"):
            command = parse_command(line, Location(rel, number), windows=rel.endswith(_WINDOWS))
            if command is not None:
                out.append(command)
    return out


_YAML_KEY = re.compile(r"^(\s*)(?:-\s+)?(command|args|entrypoint)\s*:\s*(.*)$")


def _yaml_command_lines(lines: list[str]) -> dict[int, str]:
    """``command:`` / ``args:`` values as one line each, by the key's line number.

    Block lists (``- celery`` / ``- -A`` …), flow lists and folded scalars are joined; a
    Kubernetes ``args:`` right after a ``command:`` is appended to it (``command:
    ["celery"]``, ``args: ["-A", "proj", "worker"]``). Without a YAML parser: only these
    keys' shapes are read, and the result goes through the same command-line parser.
    """
    found: dict[int, str] = {}
    pending: tuple[int, str] | None = None  # the last command:, waiting for its args:
    i = 0
    while i < len(lines):
        match = _YAML_KEY.match(lines[i])
        if not match:
            i += 1
            continue
        indent, key, value = len(match.group(1)), match.group(2), match.group(3).strip()
        number, j = i + 1, i + 1
        if value in ("", "|", ">", "|-", ">-"):
            items = []
            while j < len(lines) and (
                not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
            ):
                item = lines[j].strip()
                item = item[1:].strip() if item.startswith("-") else item
                if item and not item.startswith("#"):
                    items.append(item.strip("\"'"))
                j += 1
            value = " ".join(items)
        elif value.startswith("["):  # a flow list: ["celery", "-A", "proj", "worker"]
            value = " ".join(w.strip("\"' ") for w in value.strip("[]").split(","))
        for consumed in range(i + 1, j + 1):
            found[consumed] = ""  # read here: the line-by-line scan must not read it again
        if key == "args" and pending is not None:
            number, value = pending[0], f"{pending[1]} {value}"
        pending = (number, value) if key != "args" else None
        found[number] = value
        i = j
    return found


def parse_command(line: str, location: Location, *, windows: bool = False) -> WorkerCommand | None:
    """Parse one ``celery -A app worker -Q a,b -P gevent -c 50 …`` line (or ``multi``)."""
    words = _celery_words(line)
    if words is None:
        return None
    opts = _options(words)
    pool = None
    if opts.get("pool"):
        try:
            pool = Pool.parse(opts["pool"])
        except ValueError:
            pool = None
    queues = tuple(q for q in opts.get("queues", "").split(",") if q)
    return WorkerCommand(
        location=location,
        text=" ".join(["celery", *words])[:200],
        queues=queues,
        app=opts.get("app", ""),
        pool=pool,
        concurrency=opts.get("concurrency", ""),
        autoscale=opts.get("autoscale", ""),
        beat="beat" in opts,
        time_limit=opts.get("time_limit", ""),
        soft_time_limit=opts.get("soft_time_limit", ""),
        max_tasks_per_child=opts.get("max_tasks_per_child", ""),
        max_memory_per_child=opts.get("max_memory_per_child", ""),
        windows=windows,
    )


def _celery_words(line: str) -> list[str] | None:
    """The words after ``celery`` in a worker (or ``multi``) command line, else None."""
    line = _ENV_DEFAULT.sub(lambda m: m.group(1), line)
    line = _ENV_BARE.sub("", line)
    if re.search(r'\[\s*"', line):  # exec form: ["celery", "-A", "proj", "worker"]
        words = re.findall(r'"([^"]*)"', line)
    else:
        try:
            words = shlex.split(line)
        except ValueError:  # unbalanced quotes in a YAML value: plain words will do
            words = line.split()
    words = [w.strip("\"',[]") for w in words]
    try:
        start = next(i for i, w in enumerate(words) if w.endswith("celery"))
    except StopIteration:
        return None
    words = words[start + 1 :]
    if "worker" not in words and "multi" not in words:
        return None
    return words


def _options(words: list[str]) -> dict[str, str]:
    opts: dict[str, str] = {}
    try:
        # The bootstrap's own reading of a worker command line: `-EPgevent`, `-Qa,b`,
        # `--pool=gevent` mean here what they mean to click.
        for name, value, _ in argv_options(words):
            key = _OPTION_FIELDS.get(name)
            if key == "beat":
                opts[key] = "1"
            elif key is not None and value is not None:
                opts[key] = value
    except PoolSelectionError:  # `-P` with no value: the command line is incomplete
        pass
    return opts


def configured_pool(evaluator: Evaluator, settings: dict[str, Setting]) -> Pool | None:
    """``worker_pool`` as the project configures it (an environment variable's default
    when it reads one), or None."""
    setting = settings.get("worker_pool")
    if setting is None:
        return None
    value = evaluator.eval(setting.value)
    if isinstance(value, FromEnv):
        value = value.default
    return parse_pool(value) if isinstance(value, str) else None


def parse_pool(value: str) -> Pool | None:
    try:
        return Pool.parse(value)
    except ValueError:
        return None


def deployed_pool(queue: str, commands: list[WorkerCommand]) -> Pool | None:
    """The pool the first deployment command consuming ``queue`` runs it on."""
    for cmd in commands:
        if cmd.consumes(queue):
            return cmd.pool or Pool.PREFORK
    return None
