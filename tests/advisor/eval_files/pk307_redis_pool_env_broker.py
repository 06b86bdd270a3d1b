import os
import time

from celery import Celery

# The broker comes from the environment: PK307 cannot tell whether it is Redis, and says so.
app = Celery("proj", broker=os.environ["BROKER_URL"])  # expect: PK307
app.conf.update(task_acks_late=True)
# deploy: celery -A proj worker -Q default -P gevent -c 50
# expect-queue: default pool=gevent concurrency=50


@app.task(queue="default")
def wait(seconds):
    time.sleep(seconds)
