import zlib

import requests
from celery import Celery

app = Celery("proj")
# One task that both waits and compresses: threads, sized for the waits.
# expect-queue: archive pool=threads concurrency=50 processes=2


@app.task(queue="archive")
def archive(url):
    return zlib.compress(requests.get(url).content)
