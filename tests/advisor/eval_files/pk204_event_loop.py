import asyncio

from celery import Celery

app = Celery("proj")


async def fetch_all():
    return 1


@app.task
def broadcast():
    return asyncio.run(fetch_all())  # expect: PK204
