import time

from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -B -Q default -P gevent -c 50
# expect-elsewhere: PK304


@app.task(queue="default")
def wait():
    time.sleep(1)
