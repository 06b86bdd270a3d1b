from celery import Celery

app = Celery("proj")
# deploy: celery -A proj worker -Q default -P threads --max-tasks-per-child 100
# expect-elsewhere: PK303, PK601


@app.task(queue="default")
def noop():
    return 1
