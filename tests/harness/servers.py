"""Real Redis and PostgreSQL servers on free loopback ports, for tests and benchmarks.

Why not pytest-redis / pytest-postgresql: PostgreSQL refuses to run as root, which is how
CI runs here, so the server must be started as the ``postgres`` OS user (``Popen(user=…)``
keeps the pid we hold the postmaster's own); and benchmarks/ need the same servers
outside pytest. One small launcher serves both.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.procs import HarnessError, free_port, port_open, stop_process, wait_until

PG_BIN = Path(os.environ.get("POOLKIT_PG_BIN", "/usr/lib/postgresql/15/bin"))
INSTALL_HINT = "run `scripts/test` once, or install Debian's redis-server and postgresql-15"


@dataclass(frozen=True)
class RedisServer:
    port: int
    pid: int
    workdir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def url_for(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


@dataclass(frozen=True)
class PostgresServer:
    port: int
    pid: int
    workdir: Path
    user: str = "postgres"
    dbname: str = "postgres"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={self.dbname}"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.dbname}"


def _redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise HarnessError(f"redis-server is not installed: {INSTALL_HINT}")
    return found


@contextlib.contextmanager
def redis_server(*, timeout: float = 20.0) -> Iterator[RedisServer]:
    """A throwaway redis-server on 127.0.0.1: no persistence, stopped by pid."""
    binary = _redis_binary()
    workdir = Path(tempfile.mkdtemp(prefix="poolkit-redis-"))
    log = workdir / "redis.log"
    port = free_port()
    argv = [
        binary,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(workdir),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--logfile", str(log),
        "--protected-mode", "yes",
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        wait_until(
            lambda: port_open(port), proc=proc, what="redis-server", log=log, timeout=timeout
        )
        yield RedisServer(port=port, pid=proc.pid, workdir=workdir)
    finally:
        stop_process(proc, sig=signal.SIGTERM)
        shutil.rmtree(workdir, ignore_errors=True)


def _as_postgres() -> dict[str, object]:
    """Popen arguments that drop root to the ``postgres`` user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise HarnessError(
            "running as root but there is no 'postgres' OS user to run PostgreSQL as: "
            + INSTALL_HINT
        ) from None
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def postgres_server(
    *, timeout: float = 60.0, max_connections: int = 300
) -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster on 127.0.0.1, trust auth, fsync off, stopped by pid."""
    with restartable_postgres_server(timeout=timeout, max_connections=max_connections) as pg:
        yield pg.server


@dataclass
class RestartablePostgres:
    """A running cluster whose postmaster can be stopped and started again in place
    (same data directory and port), as an operator's restart does. ``server`` is always
    the current postmaster (its pid changes on restart)."""

    server: PostgresServer
    argv: list[str]
    log: Path
    env: dict[str, str]
    drop: dict[str, object]
    timeout: float
    proc: subprocess.Popen[bytes]

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                **self.drop,
            )  # type: ignore[call-overload]
        port = self.server.port

        def ready() -> bool:
            probe = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"],
                check=False,
            )
            return probe.returncode == 0

        wait_until(ready, proc=self.proc, what="postgres", log=self.log, timeout=self.timeout)
        self.server = PostgresServer(
            port=port, pid=self.proc.pid, workdir=self.server.workdir, dbname=self.server.dbname
        )

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast shutdown": roll back and disconnect clients.
        stop_process(self.proc, sig=signal.SIGINT, timeout=30)

    def restart(self) -> PostgresServer:
        """Fast shutdown (every client connection is cut), then start again."""
        self.stop()
        self.start()
        return self.server


@contextlib.contextmanager
def restartable_postgres_server(
    *, timeout: float = 60.0, max_connections: int = 300
) -> Iterator[RestartablePostgres]:
    """Like :func:`postgres_server`, with a handle that can restart the postmaster."""
    for name in ("initdb", "postgres", "pg_isready"):
        if not (PG_BIN / name).exists():
            raise HarnessError(f"{PG_BIN / name} is missing: {INSTALL_HINT}")
    drop = _as_postgres()
    # Not pytest's tmp_path: that lives under a 0700 root-owned directory the postgres
    # user cannot enter.
    workdir = Path(tempfile.mkdtemp(prefix="poolkit-pg-"))
    data, sockets, log = workdir / "data", workdir / "sock", workdir / "postgres.log"
    sockets.mkdir()
    if drop:
        for path in (workdir, sockets):
            os.chown(path, drop["user"], drop["group"])  # type: ignore[arg-type]
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    init = subprocess.run(
        [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--no-sync", "--no-instructions"],
        capture_output=True, text=True, env=env, check=False, **drop,  # type: ignore[call-overload]
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        raise HarnessError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    port = free_port()
    argv = [
        str(PG_BIN / "postgres"), "-D", str(data),
        "-p", str(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", f"unix_socket_directories={sockets}",
        "-c", f"max_connections={max_connections}",
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        "-c", "shared_buffers=64MB",
    ]  # fmt: skip
    handle = RestartablePostgres(
        server=PostgresServer(port=port, pid=0, workdir=workdir),
        argv=argv, log=log, env=env, drop=drop, timeout=timeout,
        proc=None,  # type: ignore[arg-type]  # set by start()
    )  # fmt: skip
    try:
        handle.start()
        yield handle
    finally:
        if handle.proc is not None:
            handle.stop()
        shutil.rmtree(workdir, ignore_errors=True)
