from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -Q crunch -P gevent -c 200
# expect-elsewhere: PK601
# expect-queue: crunch pool=prefork


@app.task(queue="crunch")
def crunch(n):
    total = 0
    for i in range(n):  # expect: PK203
        total += i * i
    return total
