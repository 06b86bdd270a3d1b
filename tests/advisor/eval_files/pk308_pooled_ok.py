from functools import partial

import psycopg2
from celery import Celery

from celery_poolkit.greendb.pg_connection_pool import pg_pool

app = Celery("proj")
# deploy: celery -A proj worker -Q db -P gevent -c 150

# The project pools its connections (pg_pool caps them per process whatever -c is); the
# advisor cannot tell which calls go through the pool, so it stays quiet, not guessing.
pool = pg_pool(partial(psycopg2.connect, "dbname=shop"), max_size=20)


@app.task(queue="db")
def close_order(pk):
    conn = psycopg2.connect("dbname=shop")  # expect: PK202
    return conn
