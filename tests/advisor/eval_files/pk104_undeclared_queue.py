from celery import Celery
from kombu import Queue

app = Celery("proj")
app.conf.task_queues = [Queue("known")]  # expect: PK104


@app.task(queue="known")
def ok():
    return 1


@app.task(queue="unknown")
def lost():
    return 2
