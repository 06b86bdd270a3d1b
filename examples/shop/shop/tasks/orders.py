"""Order workflow: fans out to the other queues."""

from __future__ import annotations

from shop.celery import app
from shop.tasks.emails import send_order_confirmation
from shop.tasks.payments import charge_card


@app.task
def place_order(order_id: int, amount_cents: int, token: str, email: str) -> None:
    charge_card.delay(order_id, amount_cents, token)
    send_order_confirmation.apply_async((order_id, email), queue="email", countdown=5)
