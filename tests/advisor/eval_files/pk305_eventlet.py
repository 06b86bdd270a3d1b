import time

from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -Q default -P eventlet -c 500
# expect-elsewhere: PK305, PK601


@app.task(queue="default")
def wait():
    time.sleep(1)
