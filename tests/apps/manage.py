# ruff: noqa: I001  (the autopatch import must stay first, before the standard library)
"""A manage.py-style entry point: ``python manage.py celery_worker -Pgevent -c 20 ...``.

Its first line is the one poolkit documents for entry points it does not launch.
"""

import celery_poolkit.autopatch  # noqa: F401  (must stay the first import)

import sys


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] != "celery_worker":
        sys.exit("usage: manage.py celery_worker [celery worker options]")
    from poolprobe.app import app

    app.worker_main(["worker", *argv[2:]])


if __name__ == "__main__":
    main(sys.argv)
