import os
import time

from celery import Celery

# A Redis default decides: the real check runs (PK307 as a warning, on the default).
app = Celery("proj", broker=os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(task_acks_late=True)  # expect: PK307
# deploy: celery -A proj worker -Q default -P gevent -c 50
# expect-queue: default pool=gevent concurrency=50


@app.task(queue="default")
def wait(seconds):
    time.sleep(seconds)
