"""Waiting without I/O: a retry back-off, a rate-limit pause."""

from __future__ import annotations

import time

from celery import shared_task


@shared_task(queue="sleep")
def back_off(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
