"""Customer e-mail over SMTP (routed to the ``email`` queue)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from shop import settings
from shop.celery import app


@app.task(
    name="shop.send_order_confirmation", autoretry_for=(smtplib.SMTPException,), max_retries=3
)
def send_order_confirmation(order_id: int, to: str) -> None:
    message = EmailMessage()
    message["From"] = settings.SHOP_EMAIL
    message["To"] = to
    message["Subject"] = f"Your order #{order_id}"
    message.set_content(f"Thank you for order #{order_id}. We'll let you know when it ships.")
    with smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=30) as smtp:
        smtp.send_message(message)
