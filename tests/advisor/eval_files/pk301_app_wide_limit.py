import requests
from celery import Celery

app = Celery("proj")
app.conf.task_soft_time_limit = 30  # expect: PK301
# expect-queue: hooks pool=gevent


@app.task(queue="hooks")
def deliver(url):
    requests.post(url, json={})
