import requests
from celery import Celery
from PIL import Image

app = Celery("proj")
# expect-queue: media pool=prefork concurrency=2
# expect-queue: media_io pool=gevent concurrency=50


@app.task(queue="media")
def thumbnail(path):  # expect: PK103
    with Image.open(path) as image:
        image.thumbnail((64, 64))


@app.task(queue="media")
def notify(url):
    requests.post(url, json={})


@app.task(queue="media_io")
def already_split(url):
    requests.get(url)
