import legacycache
from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -Q cache -P threads -c 20
# expect-elsewhere: PK601
# expect-queue: cache pool=gevent


@app.task(queue="cache")
def warm(key):
    client = legacycache.Client()  # expect: PK401
    return client.get(key)
