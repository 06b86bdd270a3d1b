import psycopg2
from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -Q db -P gevent -c 150


@app.task(queue="db")
def close_order(dsn, pk):
    conn = psycopg2.connect(dsn)  # expect: PK202, PK308
    with conn.cursor() as cur:
        cur.execute("update orders set state = 'closed' where id = %s", (pk,))
    conn.commit()
