import urllib.request

from celery import Celery

app = Celery("proj")
# A counted loop around a wait is IO, not CPU: the loop heuristic must not fire.
# expect-queue: hooks pool=gevent confidence=high


def fetch(url):
    return urllib.request.urlopen(url)


@app.task(queue="hooks")
def retry_fetch(url, max_retries):
    for _attempt in range(max_retries):  # noqa: SIM110 - the loop is the point
        if fetch(url):
            return True
    return False
