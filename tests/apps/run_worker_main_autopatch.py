"""``app.worker_main([..., "-P", "gevent"])`` with ``import celery_poolkit.autopatch`` first.

The pool is in the script's own ``worker_main`` argv, not in ``sys.argv``: autopatch reads
it from this file's source.
"""

import celery_poolkit.autopatch  # noqa: F401, I001  (must stay the first import)
import sys

from poolprobe.app import app

if __name__ == "__main__":
    app.worker_main(["worker", "-P", "gevent", *sys.argv[1:]])
