"""Django database backends shipped by celery-poolkit."""
