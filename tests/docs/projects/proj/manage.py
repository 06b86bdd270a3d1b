# ruff: noqa: I001  (the autopatch import must stay first, before the standard library)
#!/usr/bin/env python
import celery_poolkit.autopatch  # noqa: F401  (must stay the first import)

import sys


def main(argv: list[str]) -> None:
    """A manage.py-style entry point with one command, ``celery_worker [worker options]``."""
    if len(argv) < 2 or argv[1] != "celery_worker":
        sys.exit("usage: manage.py celery_worker [celery worker options]")
    from proj.celery import app

    app.worker_main(["worker", *argv[2:]])


if __name__ == "__main__":
    main(sys.argv)
