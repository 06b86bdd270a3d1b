import time

from celery import Celery

app = Celery("proj")
# deploy-windows: celery -A proj worker -Q default -P solo
# expect-elsewhere: PK306, PK601


@app.task(queue="default")
def wait():
    time.sleep(1)
