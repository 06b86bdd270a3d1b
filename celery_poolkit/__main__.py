"""``python -m celery_poolkit …`` runs the ``poolkit`` command."""

from celery_poolkit.cli import main

if __name__ == "__main__":
    main()
