import os

from celery import Celery

app = Celery("proj")
# expect-queue: bulk pool=prefork


@app.task(queue=os.environ.get("BULK_QUEUE", "bulk"))
def export():  # expect: PK102
    return 1
