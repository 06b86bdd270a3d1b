from celery import Celery

app = Celery("proj")


def route_by_size(name, args, kwargs, options, task=None, **kw):
    return {"queue": "big"} if args else None


app.conf.task_routes = (route_by_size,)  # expect: PK101


@app.task
def work():
    return 1
