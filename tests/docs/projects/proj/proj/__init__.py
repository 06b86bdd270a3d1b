"""The ``proj`` the docs' examples name (``celery -A proj``, ``poolkit worker -A proj``)."""
