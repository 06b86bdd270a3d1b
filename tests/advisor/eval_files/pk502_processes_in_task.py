import multiprocessing

from celery import Celery

app = Celery("proj")


def square(x):
    return x * x


@app.task
def fan_out(values):
    with multiprocessing.Pool(4) as pool:  # expect: PK502
        return pool.map(square, values)
