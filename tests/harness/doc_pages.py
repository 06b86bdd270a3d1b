"""Run the code examples of docs/*.rst and README.md, the way a reader would.

Sybil finds the blocks; this module decides how each kind runs:

``.. code-block:: python``
    Saved to a file and run by this interpreter in a fresh process, in the page's working
    directory (never in the test process: examples patch with gevent, configure Django,
    install wait callbacks). A preceding hidden block may give it a ``prelude`` (setup the
    page does not show, e.g. ``dsn = …``) and an ``epilogue`` (assertions). It must exit 0.

``.. code-block:: console``
    Every ``$ command`` runs through bash in the page's working directory; lines after it
    are its expected output (``...`` stands for anything; numbers match any number, so
    versions and timings may differ). A ``cd`` moves the page's working directory.
    Worker commands are started, must log ``ready.``, and are stopped by pid.

``.. code-block:: toml / yaml / text``
    Configuration and output, not programs: a hidden block right after it checks it
    against the real thing (``page.block`` holds its text). ``test_every_block_is_run``
    fails when one has no check.

``.. invisible-code-block: python``
    Test code, not rendered. Runs in this process, in the page's namespace, where
    ``page`` (a :class:`Page`) sets up the next example or checks the last one.

The stand-ins, all visible in the page's source: ``redis://127.0.0.1:6379/0`` becomes the
suite's own Redis; ``pip install`` of this package is checked against the installed
distribution's extras (it is not on an index the tests may reach, and reinstalling the
environment under test would change it); ``scripts/test`` is the command CI runs this
suite with, so it is checked, not run again from inside itself; ``scripts/bench`` runs the
suite's ``--plan`` (the full benchmark takes 17 minutes and is run by ``scripts/bench``);
other benchmark commands run with smaller counts given by ``page.substitute``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.procs import wait_until
from harness.workers import READY, WorkerProcess

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "tests" / "docs" / "projects"
DOCUMENTED_BROKER = "redis://127.0.0.1:6379/0"
COMMAND_TIMEOUT = 240.0
WORKER_READY_TIMEOUT = 60.0


# -- expected output ---------------------------------------------------------------------

_TOKEN = re.compile(r"(\.\.\.|…|\d+(?:\.\d+)*)")


def _normalise(text: str) -> str:
    # Pages wrap long lines where a terminal would not: any run of whitespace is one blank.
    return " ".join(text.split())


def pattern(expected: str) -> re.Pattern[str]:
    """``expected`` as a regex: ``...`` is anything, a number any number, any run of
    whitespace (line breaks included) one blank; everything else literal."""
    parts = []
    for i, token in enumerate(_TOKEN.split(_normalise(expected))):
        if i % 2 == 0:
            parts.append(re.escape(token))
        elif token in ("...", "…"):
            parts.append(r"[\s\S]*?")
        else:
            parts.append(r"\d+(?:\.\d+)*")
    return re.compile("".join(parts))


def matches(expected: str, actual: str) -> bool:
    return pattern(expected).search(_normalise(actual)) is not None


def assert_matches(expected: str, actual: str, what: str) -> None:
    if not matches(expected, actual):
        raise AssertionError(
            f"{what}: the documented output is not what it printed.\n"
            f"--- documented ---\n{textwrap.indent(expected.strip(), '  ')}\n"
            f"--- printed ---\n{textwrap.indent(actual.strip()[-4000:], '  ')}"
        )


# -- commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    line: str
    expected: str  # the output lines the page shows after it ("" when it shows none)


def parse_console(source: str) -> list[Command]:
    """``$ cmd`` lines (a trailing ``\\`` continues one) and the output lines after each."""
    commands: list[Command] = []
    current: list[str] | None = None
    output: list[str] = []
    continued = False
    for raw in textwrap.dedent(source).splitlines():
        if continued and current is not None:
            current.append(raw.strip())
        elif raw.startswith("$ "):
            if current is not None:
                commands.append(Command(" ".join(current), "\n".join(output)))
            current, output = [raw[2:].strip()], []
        elif current is not None:
            output.append(raw)
        else:
            raise ValueError(f"console block line before any '$ command': {raw!r}")
        continued = raw.rstrip().endswith("\\")
        if continued and current is not None:
            current[-1] = current[-1].rstrip("\\").rstrip()
    if current is not None:
        commands.append(Command(" ".join(current), "\n".join(output)))
    return commands


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()


def program_words(line: str) -> list[str]:
    """The words of a simple command without leading ``VAR=value`` assignments."""
    words = _words(line)
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    return words


def launches_worker(line: str) -> bool:
    words = program_words(line.rsplit("&&", maxsplit=1)[-1])
    if not words:
        return False
    if words[0] in ("celery", "poolkit") or words[:3] == ["python", "-m", "celery_poolkit"]:
        return "worker" in words and "--help" not in words
    return words[0] == "python" and "celery_worker" in words


@dataclass
class Result:
    command: str
    returncode: int | None
    output: str


@dataclass
class Page:
    """One documentation page's state while its examples run in order."""

    name: str
    scratch: Path
    request: Any = None
    cwd: Path = REPO
    env: dict[str, str] = field(default_factory=dict)
    substitutions: dict[str, str] = field(default_factory=dict)
    prelude: str = ""
    epilogue: str = ""
    expect_exit: int | list[int] = 0  # one code for every command, or one per command
    run_as_worker: bool = False
    files_dir: Path | None = None
    block: str = ""
    results: list[Result] = field(default_factory=list)
    written: set[Path] = field(default_factory=set)
    _background: list[Any] = field(default_factory=list)
    _database: Any = None
    _serial: int = 0

    def __post_init__(self) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
        bindir = str(Path(sys.executable).parent)
        self.env = {
            **inherited,
            "PATH": bindir + os.pathsep + inherited.get("PATH", ""),
            "POOLKIT_CACHE_DIR": str(self.scratch / "advise-cache"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    # -- set-up helpers for hidden blocks -------------------------------------------------

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)

    def project(self, name: str) -> Path:
        """A fresh copy of tests/docs/projects/NAME (``shop``: examples/shop) as the cwd."""
        source = REPO / "examples" / "shop" if name == "shop" else PROJECTS / name
        self._serial += 1
        dest = self.scratch / f"{name}-{self._serial}"
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))
        self.cwd = dest
        return dest

    def postgres(self) -> Any:
        """A database of its own on the suite's PostgreSQL 15, kept until the page ends."""
        if self._database is None:
            import psycopg2

            from harness.servers import PostgresServer

            server = self.fixture("postgres_srv")
            name = f"docs_{re.sub(r'[^a-z0-9]', '_', self.name.lower())}"
            admin = psycopg2.connect(server.dsn)
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{name}"')
            admin.close()
            self._database = PostgresServer(
                port=server.port, pid=server.pid, workdir=server.workdir, dbname=name
            )
        return self._database

    def checkout(self) -> Path:
        """A scratch copy of the repository's ``examples/`` as the cwd (``cd examples/shop``)."""
        self._serial += 1
        dest = self.scratch / f"checkout-{self._serial}"
        shutil.copytree(
            REPO / "examples", dest / "examples", ignore=shutil.ignore_patterns("__pycache__")
        )
        self.cwd = dest
        return dest

    def broker(self, *, env: bool = False) -> str:
        """The suite's Redis stands in for the documented ``redis://127.0.0.1:6379/0``;
        with ``env``, also as ``CELERY_BROKER_URL`` for every command that follows."""
        url: str = self.fixture("redis_url")
        self.substitutions[DOCUMENTED_BROKER] = url
        if env:
            self.env["CELERY_BROKER_URL"] = url
        return url

    def substitute(self, old: str, new: str) -> None:
        self.substitutions[old] = new

    def files(self, into: Path | None = None) -> Path:
        """From now on, python/text blocks are files of a project (first line ``# path``),
        in a new empty directory or ``into`` (files there are replaced); ``None`` ends it."""
        if into is None:
            self._serial += 1
            into = self.scratch / f"files-{self._serial}"
            into.mkdir()
        self.files_dir = into
        self.written = set()
        return into

    def expect(self, rule: str, *args: str) -> dict[str, Any]:
        """``poolkit advise`` on the files the blocks since ``files()`` wrote reports
        ``rule``; the next blocks start a new project."""
        assert self.files_dir is not None, "call page.files() before the example's blocks"
        argv = ["poolkit", "advise", ".", "--format", "json", "--fail-on", "never", *args]
        result = self.run(argv, cwd=self.files_dir)
        assert result.returncode == 0, result.output
        report: dict[str, Any] = json.loads(result.output)
        found = sorted({f["rule"] for f in report["findings"]})
        assert rule in found, (
            f"the example does not report {rule}; it reports {found}:\n{result.output}"
        )
        self.files()
        return report

    # -- running ----------------------------------------------------------------------------

    def apply(self, text: str) -> str:
        for old, new in self.substitutions.items():
            text = text.replace(old, new)
        return text

    def run(
        self, argv: list[str] | str, *, cwd: Path | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> Result:
        shell = isinstance(argv, str)
        proc = subprocess.run(
            ["bash", "-c", argv] if shell else argv,
            cwd=cwd or self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(argv if shell else shlex.join(argv), proc.returncode, proc.stdout)

    @contextlib.contextmanager
    def worker(self, command: str, *, argv: list[str] | None = None) -> Iterator[WorkerProcess]:
        """A worker command running until the block ends (ready first, stopped by pid)."""
        self._serial += 1
        log = self.scratch / f"worker-{self._serial}.log"
        if argv is None:
            words = program_words(command)
            if not any(w.startswith(("-l", "--loglevel")) for w in words):
                # readiness is read from the worker's "<name> ready." line (INFO)
                command = re.sub(r"\s*#.*$", "", command) + " --loglevel=INFO"
            argv = ["bash", "-c", command]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        handle = WorkerProcess(argv=argv, proc=proc, log=log)
        try:
            wait_until(
                lambda: self._worker_ready(log), proc=proc, what=command, log=log,
                timeout=WORKER_READY_TIMEOUT,
            )  # fmt: skip
            yield handle
        finally:
            handle.stop()

    def start_worker(self, command: str, *, argv: list[str] | None = None) -> Result:
        """Start a worker command, wait until it is ready, stop it; its output."""
        with self.worker(command, argv=argv) as w:
            pass
        return Result(command, w.returncode, w.output())

    def background(self, command: str) -> WorkerProcess:
        """A worker that keeps running for the examples after this one (``stop_all``)."""
        context = self.worker(command)
        handle = context.__enter__()
        self._background.append(context)
        return handle

    def stop_all(self) -> None:
        while self._background:
            self._background.pop().__exit__(None, None, None)

    def send(self, name: str, *args: Any, count: int = 1) -> None:
        """Send ``count`` tasks by name over the page's broker (the worker's log says when
        they ran: ``WorkerProcess.wait_for``)."""
        from celery import Celery

        with Celery("doc-pages", broker=self.env["CELERY_BROKER_URL"], set_as_current=False) as app:
            for _ in range(count):
                app.send_task(name, args=args)

    def _worker_ready(self, log: Path) -> bool:
        """``ready.`` in the log (INFO); a worker that logs at WARNING (``worker_main``
        with the documented argv) is ready when it answers a ping over the broker."""
        text = log.read_text(errors="replace")
        if READY.search(text):
            return True
        broker = self.env.get("CELERY_BROKER_URL")
        if not broker or "[queues]" not in text:
            return False
        from celery import Celery

        with Celery("doc-pages-ping", broker=broker, set_as_current=False) as app:
            return bool(app.control.ping(timeout=1.0))

    def take(self) -> tuple[str, str, Any, bool]:
        """The one-shot settings for the next example, reset for the one after."""
        taken = (self.prelude, self.epilogue, self.expect_exit, self.run_as_worker)
        self.prelude, self.epilogue, self.expect_exit, self.run_as_worker = "", "", 0, False
        return taken


# -- special commands ------------------------------------------------------------------------


def check_pip_install(words: list[str]) -> str:
    """``pip install X[extras]``: X is this distribution and declares those extras."""
    dist = metadata.distribution("celery-poolkit")
    declared = set(dist.metadata.get_all("Provides-Extra") or [])
    requirements = [w for w in words[2:] if not w.startswith("-")]
    assert requirements, f"pip install of nothing: {words}"
    for req in requirements:
        m = re.fullmatch(r"(?P<name>[A-Za-z0-9_.-]+)(?:\[(?P<extras>[^\]]*)\])?", req)
        assert m, f"unexpected requirement {req!r}"
        assert m["name"] in ("celery-poolkit", "."), f"{req!r} is not this package"
        extras = {e.strip() for e in (m["extras"] or "").split(",") if e.strip()}
        missing = extras - declared
        assert not missing, (
            f"{req!r}: extras {sorted(missing)} are not declared ({sorted(declared)})"
        )
    return f"checked: {' '.join(requirements)} (extras declared by celery-poolkit {dist.version})"


def check_scripts_test(words: list[str]) -> str:
    script = REPO / "scripts" / "test"
    assert script.stat().st_mode & stat.S_IXUSR, "scripts/test is not executable"
    subprocess.run(["bash", "-n", str(script)], check=True)
    # Its own options (before tox's): the script must handle each one it is shown with.
    for option in words[1:2]:
        if option.startswith("--"):
            assert f'"{option}"' in script.read_text(), f"scripts/test has no {option}"
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/test" in ci, ".ci/run does not run scripts/test"
    return "checked: scripts/test is the command .ci/run runs (this suite is part of it)"


def plan_bench(page: Page, words: list[str]) -> Result:
    argv = [sys.executable, str(REPO / "benchmarks" / "pools" / "run.py"), *words[1:], "--plan"]
    return page.run(argv, cwd=REPO)


def run_console(page: Page, source: str) -> None:
    _, _, expected_exits, _ = page.take()
    page.results = []
    commands = parse_console(page.apply(source))
    if isinstance(expected_exits, int):
        expected_exits = [expected_exits] * len(commands)
    assert len(expected_exits) == len(commands), "page.expect_exit: one code per command"
    for cmd, expect_exit in zip(commands, expected_exits, strict=True):
        line = cmd.line
        result: Result
        if re.fullmatch(r"cd \S+", line):
            page.cwd = (page.cwd / line.split()[1]).resolve()
            assert page.cwd.is_dir(), f"{line}: no such directory"
            continue
        first, _, rest = line.partition(" && ")
        words = _words(first)
        if words[:2] == ["pip", "install"]:
            note = check_pip_install(words)
            if not rest:
                page.results.append(Result(line, 0, note))
                continue
            line = rest
            words = _words(line)
        if words and words[0] == "scripts/test":
            page.results.append(Result(line, 0, check_scripts_test(words)))
            continue
        if words and words[0] == "scripts/bench":
            result = plan_bench(page, words)
            assert result.returncode == 0, result.output
        elif launches_worker(line) and expect_exit == 0:
            result = page.start_worker(line)
            assert not re.search(r"^Traceback", result.output, re.MULTILINE), result.output
        else:
            result = page.run(line)
            assert result.returncode == expect_exit, (
                f"$ {line}\nexit {result.returncode}, documented {expect_exit}:\n{result.output}"
            )
        if cmd.expected.strip():
            assert_matches(cmd.expected, result.output, f"$ {line}")
        page.results.append(result)


def run_python(page: Page, source: str, line: int) -> None:
    prelude, epilogue, expect_exit, as_worker = page.take()
    code = "\n".join([textwrap.dedent(prelude), page.apply(source), textwrap.dedent(epilogue)])
    page._serial += 1
    path = page.scratch / f"example_{page.name}_{line}.py"
    path.write_text(code)
    # The script lives in the scratch dir; a project's cwd is where its imports come from.
    # Never the repository root: its celery_poolkit/ (without the mapped advisor/ and
    # plugins/) would shadow the installed package.
    saved = page.env.get("PYTHONPATH")
    if page.cwd != REPO:
        page.env["PYTHONPATH"] = str(page.cwd)
    try:
        if as_worker:
            result = page.start_worker(f"python {path.name}", argv=[sys.executable, str(path)])
        else:
            result = page.run([sys.executable, str(path)])
    finally:
        if saved is None:
            page.env.pop("PYTHONPATH", None)
        else:
            page.env["PYTHONPATH"] = saved
        assert result.returncode == expect_exit, (
            f"example at line {line} exited {result.returncode}:\n{result.output}\n"
            f"--- code run ---\n{code}"
        )
    page.results = [result]


def write_file(page: Page, source: str) -> None:
    """In files mode: a block whose first line is ``# path`` is that file of the project."""
    assert page.files_dir is not None
    first, _, body = textwrap.dedent(source).partition("\n")
    m = re.fullmatch(r"#\s*(\S+)(?:\s.*)?", first.strip())
    assert m, f"a project file block starts with '# path', not {first!r}"
    dest = page.files_dir / m[1]
    dest.parent.mkdir(parents=True, exist_ok=True)
    # The examples show modules of a package (proj/tasks.py): make it one, as it is in a
    # real project, so task names are proj.tasks.*.
    folder = dest.parent
    while dest.suffix == ".py" and folder != page.files_dir:
        (folder / "__init__.py").touch()
        folder = folder.parent
    # Two blocks may add to one file (shown apart on the page); the first replaces it.
    with open(dest, "a" if dest in page.written else "w") as f:
        f.write(body if body.endswith("\n") else body + "\n")
    page.written.add(dest)
