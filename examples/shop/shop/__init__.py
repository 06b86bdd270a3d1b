"""An online shop's background jobs: a small but realistic Celery project.

Used by poolkit's README demo and end-to-end tests. ``celery -A shop worker`` finds the
app in :mod:`shop.celery`.
"""
