import time

import requests
from celery import Celery

app = Celery("proj")
# Most tasks wait and one holds the GIL: threads overlap the waits (measured on the
# benchmark's mixed queue: threads 67 tasks/s vs prefork -c 2 33/s); the CPU task moves out.
# expect-queue: reports pool=threads concurrency=50


@app.task(queue="reports")
def fetch_rates(url):  # expect: PK103
    return requests.get(url, timeout=5).json()


@app.task(queue="reports")
def wait_for_settlement(seconds):
    time.sleep(seconds)


@app.task(queue="reports")
def post_webhook(url, payload):
    requests.post(url, json=payload, timeout=5)


@app.task(queue="reports")
def score(rounds):
    total = 7
    for step in range(rounds):
        total = (total * 31 + step) % 1_000_003
    return total
