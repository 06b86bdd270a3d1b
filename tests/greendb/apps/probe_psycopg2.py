"""Run by tests as ``python probe_psycopg2.py DSN``: what green psycopg2 does in a gevent
process, as one JSON object on stdout. A separate process because monkey patching is
process-wide and cannot be undone."""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import psycopg2  # noqa: E402

from celery_poolkit.greendb import psycopg2 as green_psycopg2  # noqa: E402


def main(dsn: str) -> dict[str, object]:
    out: dict[str, object] = {}
    green_psycopg2.install("gevent")
    out["installed"] = green_psycopg2.is_installed()

    # connect_timeout against a server that accepts TCP but never answers, while
    # another greenlet ticks: the hub must keep running, and the connect must give up.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            gevent.sleep(0.05)

    ticker = gevent.spawn(tick)
    started = time.monotonic()
    try:
        psycopg2.connect(
            host="127.0.0.1", port=silent.getsockname()[1], user="x", dbname="x",
            connect_timeout=2,
        )  # fmt: skip
        out["connect_timeout"] = "connected?!"
    except psycopg2.OperationalError as exc:
        out["connect_timeout"] = str(exc)
    out["connect_seconds"] = time.monotonic() - started
    out["ticks_during_connect"] = ticks
    ticker.kill()

    # A host name: resolved by gevent, passed on as hostaddr.
    params = psycopg2.extensions.parse_dsn(dsn)
    params["host"] = "localhost"
    conn = psycopg2.connect(**params)
    out["dsn_hostaddr"] = psycopg2.extensions.parse_dsn(conn.dsn).get("hostaddr")
    try:
        psycopg2.connect(host="no-such-host.invalid", user="x", dbname="x")
    except psycopg2.OperationalError as exc:
        out["bad_host"] = str(exc)

    # COPY and large objects: a clear error instead of psycopg2's terse one.
    with conn.cursor() as cur:
        try:
            cur.copy_expert("COPY (SELECT 1) TO STDOUT", sys.stdout)
        except psycopg2.ProgrammingError as exc:
            out["copy"] = [type(exc).__name__, str(exc)]
    try:
        conn.lobject()
    except psycopg2.ProgrammingError as exc:
        out["lobject"] = [type(exc).__name__, str(exc)]
    conn.close()

    green_psycopg2.uninstall()
    out["after_uninstall"] = [green_psycopg2.is_installed(), psycopg2.connect.__module__]
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
