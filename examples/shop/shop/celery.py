"""The Celery app. ``celery -A shop worker -Q http -P gevent -c 50`` and so on."""

from __future__ import annotations

from celery import Celery

app = Celery(
    "shop",
    include=[
        "shop.tasks.maintenance",
        "shop.tasks.payments",
        "shop.tasks.reports",
        "shop.tasks.images",
        "shop.tasks.emails",
        "shop.tasks.orders",
    ],
)
app.config_from_object("shop.celeryconfig")
