import zlib

import requests
from celery import Celery

app = Celery("proj")
# One task that both waits and compresses every page it fetches: threads, sized for the
# waits. (Compressing once is per-item work, not CPU: see knowledge.PER_ITEM_CPU.)
# expect-queue: archive pool=threads concurrency=50 processes=2


@app.task(queue="archive")
def archive(urls):
    return [zlib.compress(requests.get(url).content) for url in urls]
