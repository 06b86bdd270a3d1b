"""The harness's real servers: reachable on loopback, isolated, stopped by pid."""

from __future__ import annotations

import psycopg2
import pytest
import redis

from harness.procs import alive, port_open
from harness.servers import (
    PostgresServer,
    RedisServer,
    postgres_server,
    rabbitmq_server,
    redis_server,
    restartable_redis_server,
)


def test_redis_round_trip(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.rpush("poolkit:test", "a", "b")
    assert client.lrange("poolkit:test", 0, -1) == [b"a", b"b"]
    assert redis_url.startswith("redis://127.0.0.1:")


def test_postgres_query_in_a_fresh_database(postgres_db: PostgresServer) -> None:
    with psycopg2.connect(postgres_db.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database(), host(inet_server_addr()), version()")
        dbname, addr, version = cur.fetchone()
    assert dbname == postgres_db.dbname
    assert addr == "127.0.0.1"
    assert "PostgreSQL 15" in version


def test_servers_stop_by_pid_and_clean_up() -> None:
    with redis_server() as rs, postgres_server() as pg:
        assert isinstance(rs, RedisServer)
        assert alive(rs.pid)
        assert alive(pg.pid)
        workdirs = (rs.workdir, pg.workdir)
    assert not alive(rs.pid)
    assert not alive(pg.pid)
    assert not any(path.exists() for path in workdirs)
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(pg.dsn, connect_timeout=2)


def test_rabbitmq_round_trip_in_a_vhost_of_its_own(rabbitmq_url: str) -> None:
    from kombu import Connection

    assert rabbitmq_url.startswith("amqp://guest:guest@127.0.0.1:")
    with Connection(rabbitmq_url) as conn:
        queue = conn.SimpleQueue("poolkit-test")
        queue.put({"n": 1})
        assert queue.get(timeout=5).payload == {"n": 1}
        queue.close()


def test_rabbitmq_node_and_its_epmd_stop_and_clean_up() -> None:
    with rabbitmq_server(vhosts=0) as rs:
        assert alive(rs.pid)
        epmd_port = _epmd_port(rs.pid)
        assert port_open(epmd_port)
        pid, workdir = rs.pid, rs.workdir
    assert not alive(pid)
    assert not port_open(rs.port)
    assert not port_open(epmd_port)  # the epmd we started is gone too
    assert not workdir.exists()


def _epmd_port(pid: int) -> int:
    with open(f"/proc/{pid}/environ", "rb") as f:
        environ = f.read().split(b"\0")
    (port,) = [e.split(b"=", 1)[1] for e in environ if e.startswith(b"ERL_EPMD_PORT=")]
    return int(port)


def test_a_persistent_redis_keeps_its_data_across_a_restart() -> None:
    with restartable_redis_server() as rs:
        client = redis.Redis.from_url(rs.server.url)
        client.rpush("q", "a")
        first = rs.server.pid
        rs.restart()
        assert rs.server.pid != first
        assert redis.Redis.from_url(rs.server.url).lrange("q", 0, -1) == [b"a"]
        client.close()
