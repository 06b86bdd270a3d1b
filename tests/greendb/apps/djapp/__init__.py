"""A Django project run by a Celery gevent worker, for the pooled backend's tests."""

from djapp.celery import app

__all__ = ["app"]
