import torch
from celery import Celery

app = Celery("proj")
torch.cuda.init()  # expect: PK501
# expect-queue: gpu pool=solo concurrency=1


@app.task(queue="gpu")
def infer(x):
    return torch.matmul(x, x)
