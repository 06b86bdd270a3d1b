from celery import Celery

# Late acks on threads go through the consumer's hub, and an amqp broker has no
# redis-py pool: neither overflows.
app = Celery("proj", broker="amqp://guest@127.0.0.1//")
app.conf.update(task_acks_late=True)
# deploy: celery -A proj worker -Q files -P threads -c 50
# expect-queue: files pool=threads


@app.task(queue="files")
def copy(src, dst):
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(fin.read())
