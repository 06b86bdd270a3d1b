from celery import Celery

app = Celery("proj")
# expect-queue: celery pool=prefork concurrency=2 confidence=low


@app.task
def add(x, y):
    return x + y
