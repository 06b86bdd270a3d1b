"""PostgreSQL with a bounded green connection pool per worker process.

``DATABASES["default"]["ENGINE"] = "celery_poolkit.plugins.django.backends.postgresql"``,
configured like Django 5.1's native pool: ``OPTIONS: {"pool": {"max_size": 10,
"timeout": 30}}`` and ``CONN_MAX_AGE: 0``. Django imports ``.base`` from here.
"""
