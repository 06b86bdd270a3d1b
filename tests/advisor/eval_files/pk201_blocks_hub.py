import MySQLdb
from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -Q legacy -P gevent -c 100
# expect-elsewhere: PK601
# expect-queue: legacy pool=threads concurrency=50 processes=2


def load(order_id):
    conn = MySQLdb.connect(host="127.0.0.1")  # expect: PK201
    return conn


@app.task(queue="legacy")
def sync_order(order_id):
    return load(order_id)
