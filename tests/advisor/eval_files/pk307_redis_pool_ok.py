import time

from celery import Celery

# Sized above -c + 1: nothing to report.
app = Celery("proj", broker="redis://127.0.0.1:6379/0")
app.conf.update(task_acks_late=True, broker_transport_options={"max_connections": 60})
# deploy: celery -A proj worker -Q default -P gevent -c 50


@app.task(queue="default")
def wait(seconds):
    time.sleep(seconds)
