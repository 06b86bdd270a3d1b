"""Pure-Python number crunching: holds the GIL for the whole task."""

from __future__ import annotations

from celery import shared_task


@shared_task(queue="cpu_py")
def checksum(rounds: int) -> int:
    total = 0
    for i in range(rounds):
        total = (total * 31 + i) % 1_000_003
    return total
