import time

from celery import Celery

app = Celery("proj")
app.conf.broker_url = "redis://127.0.0.1:6379/0"
app.conf.broker_transport_options = {"max_connections": 20}  # expect: PK307


@app.task(queue="default", acks_late=True)
def wait(seconds):
    time.sleep(seconds)


@app.task(queue="other")
def early(seconds):
    # Acked early, by the consumer: the pool is never shared by greenlets here.
    time.sleep(seconds)
