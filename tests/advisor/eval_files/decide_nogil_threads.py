import numpy
from celery import Celery

app = Celery("proj")
# expect-queue: math pool=threads concurrency=2 confidence=high


@app.task(queue="math")
def product(a, b):
    return numpy.dot(a, b)
