"""The static pool advisor, installed as ``celery_poolkit.advisor``.

It reads a project's task code without importing or running it and recommends a pool
and concurrency for every queue. It never imports celery, gevent or the user's code.
"""
