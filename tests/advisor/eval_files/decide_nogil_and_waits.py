import numpy
import requests
from celery import Celery

app = Celery("proj")
# expect-queue: mixed pool=threads concurrency=50 processes=2


@app.task(queue="mixed")
def product(a, b):
    return numpy.dot(a, b)


@app.task(queue="mixed")
def fetch(url):
    return requests.get(url).json()
