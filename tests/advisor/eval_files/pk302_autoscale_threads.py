from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -Q default -P threads --autoscale=10,2
# expect-elsewhere: PK302, PK601


@app.task(queue="default")
def noop():
    return 1
