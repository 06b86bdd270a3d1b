from celery import Celery

app = Celery("proj", backend="redis://127.0.0.1:6379/1")
app.conf.result_backend_thread_safe = True
app.conf.redis_max_connections = 10  # expect: PK307
# deploy: celery -A proj worker -Q files -P threads -c 50


@app.task(queue="files")
def copy(src, dst):
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(fin.read())
