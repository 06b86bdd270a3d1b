"""``python -m celery_poolkit …`` runs the ``poolkit`` command.

``python -m celery_poolkit worker …`` is the launcher: it patches before celery is
imported (see ``celery_poolkit.cli.main``).
"""

from celery_poolkit.cli import main

if __name__ == "__main__":
    main()
