"""A plain Celery app on psycopg2 (and psycopg 3, SQLAlchemy) for the green database tests."""

from pgapp.celery import app

__all__ = ["app"]
