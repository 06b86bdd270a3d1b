import asyncio

from celery import Celery

app = Celery("proj")


@app.task
def broadcast():
    return asyncio.run(asyncio.sleep(0))  # poolkit: ignore[PK204]
