import psycopg2
from celery import Celery

app = Celery("proj")
app.conf.update(worker_pool="threads", worker_concurrency=120)


@app.task(queue="celery")
def count(dsn):
    conn = psycopg2.connect(dsn)  # expect: PK202, PK308
    return conn
