import psycopg2
from celery import Celery

app = Celery("proj")
# expect-queue: reports pool=gevent concurrency=50 processes=2 confidence=high


class Repository:
    def __init__(self, dsn):
        self.dsn = dsn

    def fetch(self, sql):
        conn = psycopg2.connect(self.dsn)  # expect: PK202
        return conn


@app.task(queue="reports")
def report(day):
    return Repository("dbname=x").fetch("select 1")
