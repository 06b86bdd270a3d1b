"""The harness's real servers: reachable on loopback, isolated, stopped by pid."""

from __future__ import annotations

import os

import psycopg2
import pytest
import redis

from harness.servers import PostgresServer, RedisServer, postgres_server, redis_server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
        assert _alive(rs.pid)
        assert _alive(pg.pid)
        workdirs = (rs.workdir, pg.workdir)
    assert not _alive(rs.pid)
    assert not _alive(pg.pid)
    assert not any(path.exists() for path in workdirs)
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(pg.dsn, connect_timeout=2)
