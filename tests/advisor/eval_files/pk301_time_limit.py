import requests
from celery import Celery

app = Celery("proj")
# expect-queue: hooks pool=gevent


@app.task(queue="hooks", soft_time_limit=10)
def deliver(url):  # expect: PK301
    requests.post(url, json={})
