import requests
from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -Q http -c 4
# expect-elsewhere: PK601, PK602
# expect-queue: http pool=gevent


@app.task(queue="http")
def call(url):
    return requests.get(url).status_code


@app.task(queue="forgotten")
def other(url):
    return requests.get(url).status_code
