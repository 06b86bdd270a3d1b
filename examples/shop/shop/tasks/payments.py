"""Calls to the payment provider's HTTP API (routed to the ``http`` queue)."""

from __future__ import annotations

from typing import Any

import requests

from shop import settings
from shop.celery import app


def _api(path: str) -> str:
    return f"{settings.PAYMENTS_API.rstrip('/')}/{path.lstrip('/')}"


@app.task(bind=True, autoretry_for=(requests.ConnectionError,), retry_backoff=True, max_retries=5)
def charge_card(self: Any, order_id: int, amount_cents: int, token: str) -> dict[str, Any]:
    response = requests.post(
        _api("charges"),
        json={"order": order_id, "amount": amount_cents, "source": token},
        timeout=settings.WEBHOOK_TIMEOUT,
    )
    response.raise_for_status()
    return dict(response.json())


@app.task
def fetch_exchange_rate(currency: str) -> float:
    response = requests.get(_api(f"rates/{currency}"), timeout=settings.WEBHOOK_TIMEOUT)
    response.raise_for_status()
    return float(response.json()["rate"])


@app.task(rate_limit="20/s")
def notify_webhook(url: str, payload: dict[str, Any]) -> int:
    session = requests.Session()
    response = session.post(url, json=payload, timeout=settings.WEBHOOK_TIMEOUT)
    return response.status_code
