"""``app.worker_main()`` started from a script, preceded by ``celery_poolkit.patch()``.

Celery never patches on this path (celery #8168): the script must, first thing.
"""

import celery_poolkit

celery_poolkit.patch("gevent")

import sys  # noqa: E402

from poolprobe.app import app  # noqa: E402

if __name__ == "__main__":
    app.worker_main(["worker", "-P", "gevent", *sys.argv[1:]])
