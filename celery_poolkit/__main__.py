"""``python -m celery_poolkit …`` runs the ``poolkit`` command.

``python -m celery_poolkit worker …`` is the launcher: it patches before celery is
imported (see ``celery_poolkit.cli.main``).
"""

import os
import sys

# As pip's __main__ does: `python -m` puts the working directory first on sys.path, and
# poolkit runs inside the checkout it analyses, whose root-level fnmatch.py, hashlib.py,
# shlex.py or tomllib.py would then be imported in place of the standard library's. The
# launcher loses nothing: celery imports -A from the working directory by itself.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from celery_poolkit.cli import main  # after the sys.path fix, on purpose

if __name__ == "__main__":
    main()
