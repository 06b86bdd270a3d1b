"""Real Redis, PostgreSQL and RabbitMQ servers on free loopback ports, for tests and
benchmarks.

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
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.procs import (
    HarnessError,
    free_port,
    log_tail,
    port_open,
    stop_process,
    wait_until,
)

PG_BIN = Path(os.environ.get("POOLKIT_PG_BIN", "/usr/lib/postgresql/15/bin"))
RABBITMQ_SERVER = Path(
    os.environ.get("POOLKIT_RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server")
)
INSTALL_HINT = (
    "run `scripts/test` once, or install Debian's redis-server, postgresql-15 and rabbitmq-server"
)


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


@dataclass(frozen=True)
class RabbitServer:
    port: int
    pid: int
    workdir: Path
    vhosts: tuple[str, ...] = ()  # empty virtual hosts made at start, one per test

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def url_for(self, vhost: str) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"


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
    with restartable_redis_server(timeout=timeout, persistent=False) as rs:
        yield rs.server


def _redis_pong(port: int) -> bool:
    """Redis answers commands: listening is not enough after a restart, it answers
    LOADING until it has read its append-only file back."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64).startswith(b"+PONG")
    return False


@dataclass
class RestartableRedis:
    """A running redis-server that can be stopped and started again on the same port and
    directory, as an operator's restart does; ``server`` is the current process."""

    server: RedisServer
    argv: list[str]
    log: Path
    timeout: float
    proc: subprocess.Popen[bytes]

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        port = self.server.port
        wait_until(
            lambda: _redis_pong(port), proc=self.proc, what="redis-server", log=self.log,
            timeout=self.timeout,
        )  # fmt: skip
        self.server = RedisServer(port=port, pid=self.proc.pid, workdir=self.server.workdir)

    def stop(self) -> None:
        # SIGTERM: redis-server writes its append-only file (when persistent) and exits.
        stop_process(self.proc, sig=signal.SIGTERM)

    def restart(self) -> RedisServer:
        self.stop()
        self.start()
        return self.server


@contextlib.contextmanager
def restartable_redis_server(
    *, timeout: float = 20.0, persistent: bool = True
) -> Iterator[RestartableRedis]:
    """A redis-server of its own; ``persistent`` keeps the data across a restart (an
    append-only file synced on every write), as a production broker does."""
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
        "--daemonize", "no",
        "--logfile", str(log),
        "--protected-mode", "yes",
    ]  # fmt: skip
    argv += ["--appendonly", "yes", "--appendfsync", "always"] if persistent else [
        "--appendonly", "no"]  # fmt: skip
    handle = RestartableRedis(
        server=RedisServer(port=port, pid=0, workdir=workdir), argv=argv, log=log,
        timeout=timeout, proc=None,  # type: ignore[arg-type]  # set by start()
    )  # fmt: skip
    try:
        handle.start()
        yield handle
    finally:
        if handle.proc is not None:
            handle.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def rabbitmq_server(*, timeout: float = 90.0, vhosts: int = 24) -> Iterator[RabbitServer]:
    """A throwaway RabbitMQ node on 127.0.0.1 (AMQP only, no plugins), stopped by pid.

    Everything the node writes or listens on is its own: a temporary directory for its
    database, logs, configuration and Erlang cookie (``HOME``), and free ports for AMQP,
    Erlang distribution and an ``epmd`` that we start first, so Erlang does not start a
    daemon of its own that would outlive the node. ``RABBITMQ_ALLOW_INPUT`` makes the
    script ``exec`` the Erlang VM (the pid we hold is the node's), and ``-noinput`` keeps
    it from reading a shell on stdin; SIGTERM is the node's graceful stop. It runs as
    whatever user we are, root included (Erlang does not refuse it).

    ``vhosts`` empty virtual hosts ``t1``, ``t2``… are made at start with one
    ``rabbitmqctl eval`` (each CLI call costs seconds of Erlang start-up), so each test
    can take a broker of its own.
    """
    if not RABBITMQ_SERVER.exists() or not shutil.which("epmd"):
        raise HarnessError(f"{RABBITMQ_SERVER} or epmd is missing: {INSTALL_HINT}")
    workdir = Path(tempfile.mkdtemp(prefix="poolkit-rabbitmq-"))
    log = workdir / "rabbitmq.out"
    port, dist, epmd_port = free_port(), free_port(), free_port()
    (workdir / "rabbitmq.conf").write_text(
        f"listeners.tcp.1 = 127.0.0.1:{port}\n"
        "loopback_users = none\n"
        # A loaded CI machine: never block publishers over free disk or memory.
        "disk_free_limit.absolute = 1MB\n"
        "vm_memory_high_watermark.relative = 0.9\n"
    )
    (workdir / "enabled_plugins").write_text("[].\n")
    env = {
        **os.environ,
        "HOME": str(workdir),  # the Erlang cookie goes here
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODENAME": f"poolkit{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
        "RABBITMQ_LOG_BASE": str(workdir / "log"),
        "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(workdir / "advanced.config"),
        "RABBITMQ_CONF_ENV_FILE": str(workdir / "rabbitmq-env.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(workdir / "rabbitmq.pid"),
        "RABBITMQ_ALLOW_INPUT": "true",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-noinput",
    }
    epmd = subprocess.Popen(
        ["epmd", "-port", str(epmd_port), "-address", "127.0.0.1"], env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    node: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: port_open(epmd_port), proc=epmd, what="epmd", log=log, timeout=20)
        with open(log, "wb") as out:
            # A session of its own: the node's helpers (erl_child_setup, inet_gethost)
            # are stopped with it, by the process group we created.
            node = subprocess.Popen(
                [str(RABBITMQ_SERVER)], env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_until(
            lambda: port_open(port), proc=node, what="rabbitmq-server", log=log,
            timeout=timeout,
        )  # fmt: skip
        names = tuple(f"t{n}" for n in range(1, vhosts + 1))
        if names:
            _add_vhosts(env, names, log)
        yield RabbitServer(port=port, pid=node.pid, workdir=workdir, vhosts=names)
    finally:
        if node is not None:
            stop_process(node, sig=signal.SIGTERM, timeout=30, group=True)
        stop_process(epmd, sig=signal.SIGTERM)
        shutil.rmtree(workdir, ignore_errors=True)


def _add_vhosts(env: dict[str, str], names: tuple[str, ...], log: Path) -> None:
    """Make ``names`` as virtual hosts that ``guest`` may use, in one CLI call."""
    each = (
        'begin rabbit_vhost:add(<<"{n}">>, <<"poolkit">>), '
        "rabbit_auth_backend_internal:set_permissions("
        '<<"guest">>, <<"{n}">>, <<".*">>, <<".*">>, <<".*">>, <<"poolkit">>) end'
    )
    expr = "[" + ", ".join(each.format(n=n) for n in names) + "], ok."
    ctl = RABBITMQ_SERVER.parent / "rabbitmqctl"
    done = subprocess.run(
        [str(ctl), "-n", env["RABBITMQ_NODENAME"], "eval", expr], env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0 or "ok" not in done.stdout:
        raise HarnessError(
            f"rabbitmqctl could not add virtual hosts:\n{done.stdout}\n{done.stderr}\n"
            + log_tail(log)
        )


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
