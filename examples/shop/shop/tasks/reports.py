"""Reporting queries against the shop's PostgreSQL database (the ``db`` queue)."""

from __future__ import annotations

from typing import Any

from shop import db
from shop.celery import app


@app.task
def daily_sales(day: str) -> list[tuple[Any, ...]]:
    return db.fetch_all(
        "SELECT product_id, sum(quantity), sum(amount_cents) FROM order_lines "
        "WHERE created::date = %s GROUP BY product_id ORDER BY 3 DESC",
        (day,),
    )


@app.task
def slow_query(seconds: float = 0.05) -> float:
    """A query that waits on the server, the way a report or a lock wait does."""
    rows = db.fetch_all("SELECT %s::float FROM pg_sleep(%s)", (seconds, seconds))
    return float(rows[0][0])
